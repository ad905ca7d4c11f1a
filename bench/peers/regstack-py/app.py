"""regstack-py (PyPI `regstack`, the Python peer) for `pnpm bench` scenario 8 — a peer harness, not regstack code.

Mounted the way its own docstring tells a FastAPI host to (RegStack(config) + include_router at api_prefix, schema
installed in the lifespan), on SQLite, verification off so users register straight away. Its password hasher is
pwdlib's Argon2Hasher with library defaults; here it gets regstack's parameters (BENCH_ARGON2_M/T/P) so both sides
verify identical argon2id work.
"""

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from regstack import RegStack, RegStackConfig

config = RegStackConfig(
    database_url=os.environ["BENCH_PY_DATABASE_URL"],
    jwt_secret=os.environ["BENCH_PY_JWT_SECRET"],
    require_verification=False,
)
regstack = RegStack(config=config)
regstack.password_hasher._hasher = PasswordHash(
    (
        Argon2Hasher(
            memory_cost=int(os.environ["BENCH_ARGON2_M"]),
            time_cost=int(os.environ["BENCH_ARGON2_T"]),
            parallelism=int(os.environ["BENCH_ARGON2_P"]),
        ),
    )
)


@asynccontextmanager
async def lifespan(_app):
    await regstack.install_schema()
    yield
    await regstack.aclose()


app = FastAPI(lifespan=lifespan)
app.include_router(regstack.router, prefix=config.api_prefix)
