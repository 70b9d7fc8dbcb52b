// The console's connection to the server: the session (sign-in, refresh, sign-out through
// /console/session, whose refresh token is an HttpOnly cookie this script never sees) and
// GraphQL over POST /graphql with the access token, which lives in this module's memory only.

import { acceptLanguage, t } from './i18n.js';

/** A failure with the server's stable code (extensions.code) and message. */
export class ApiError extends Error {
  constructor(message, code, field) {
    super(message);
    this.code = code || 'INTERNAL';
    this.field = field || null;
  }
}

let accessToken = null;
let account = null;
let refreshTimer = null;
let refreshing = null;
let expiredHandler = null;

/** The signed-in account ({id, username, displayName, role, organizationId}) or null. */
export function currentAccount() {
  return account;
}

/**
 * Registers what to do when the session cannot be renewed: `handler` shows the sign-in form and
 * resolves once signed in again, so the request that found the session gone is then retried
 * and the page (with whatever was typed) stays as it was.
 */
export function onSessionExpired(handler) {
  expiredHandler = handler;
}

async function sessionRequest(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept-Language': acceptLanguage() },
      body: JSON.stringify(body || {}),
    });
  } catch {
    throw new ApiError(t('networkError'), 'NETWORK');
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || answer.errors) {
    const error = (answer.errors && answer.errors[0]) || {};
    throw new ApiError(error.message || response.statusText, error.extensions && error.extensions.code);
  }
  return answer;
}

function remember(answer) {
  accessToken = answer.accessToken;
  account = answer.account;
  clearTimeout(refreshTimer);
  // Renew a minute before the access token expires, so a quiet page does not find it dead.
  const wait = new Date(answer.accessTokenExpiresAt).getTime() - Date.now() - 60_000;
  refreshTimer = setTimeout(() => renew().catch(() => {}), Math.max(wait, 5_000));
  return account;
}

function forget() {
  accessToken = null;
  clearTimeout(refreshTimer);
}

/** Signs in; resolves to the account. */
export async function signIn(username, password) {
  return remember(await sessionRequest('/console/session', { username, password }));
}

/** Renews the session from the cookie (one renewal at a time); null when there is none. */
export function renew() {
  if (!refreshing) {
    refreshing = sessionRequest('/console/session/refresh')
      .then((answer) => {
        if (answer.accessToken) return remember(answer);
        forget();
        return null;
      })
      .catch((error) => {
        if (error.code === 'UNAUTHENTICATED') {
          forget();
          return null;
        }
        throw error;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/** Signs out: the server revokes the session and drops the cookie. */
export async function signOut() {
  try {
    await sessionRequest('/console/session/sign-out');
  } finally {
    forget();
    account = null;
  }
}

async function post(query, variables) {
  const headers = { 'Content-Type': 'application/json', 'Accept-Language': acceptLanguage() };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      credentials: 'omit',
      headers,
      body: JSON.stringify({ query, variables: variables || {} }),
    });
  } catch {
    throw new ApiError(t('networkError'), 'NETWORK');
  }
  const answer = await response.json().catch(() => null);
  if (!answer) throw new ApiError(response.statusText || t('networkError'), 'INTERNAL');
  return answer;
}

function isUnauthenticated(answer) {
  return (answer.errors || []).some((e) => e.extensions && e.extensions.code === 'UNAUTHENTICATED');
}

/**
 * Runs a GraphQL operation and resolves to its data; rejects with an ApiError carrying the
 * first error's code and message. A dead session is renewed, or signed in again through the
 * expiry handler, and the operation retried.
 */
export async function gql(query, variables) {
  let answer = await post(query, variables);
  if (isUnauthenticated(answer)) {
    const renewed = await renew().catch(() => null);
    if (!renewed) {
      if (!expiredHandler) throw new ApiError(t('sessionExpired'), 'UNAUTHENTICATED');
      await expiredHandler();
    }
    answer = await post(query, variables);
  }
  if (answer.errors && answer.errors.length) {
    const error = answer.errors[0];
    const extensions = error.extensions || {};
    throw new ApiError(error.message, extensions.code, extensions.field);
  }
  return answer.data;
}
