/**
 * Entry point: one regstack client for the page, typed from the host's root router (regstack is mounted
 * there under `auth`, next to the host's own `notes`), the token kept in localStorage so a reload stays
 * signed in.
 */

import { createRegstackClient } from '@regstack/client';
import { RegstackProvider } from '@regstack/client/react';
import type { AppRouter } from '@regstack/example-host-app';
import { QueryClient } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import './style.css';

const client = createRegstackClient<AppRouter>({ url: '/trpc', path: 'auth', tokenStore: 'localStorage' });
const queryClient = new QueryClient();

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing');
createRoot(root).render(
  <StrictMode>
    <RegstackProvider client={client} queryClient={queryClient}>
      <App />
    </RegstackProvider>
  </StrictMode>,
);
