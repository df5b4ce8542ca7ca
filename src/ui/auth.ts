import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../errors/index.js';
import { bearerMatches } from '../grpc/auth.js';

/** the cookie the login form sets: the token itself, HttpOnly and SameSite=Strict */
export const TOKEN_COOKIE = 'ferry_ui_token';

function cookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** Whether a request carries the token: `authorization: Bearer <token>`, or the login cookie. */
export function authorized(req: IncomingMessage, token: string): boolean {
  if (req.headers.authorization !== undefined) return bearerMatches(req.headers.authorization, token);
  const c = cookie(req, TOKEN_COOKIE);
  return c !== null && bearerMatches(`Bearer ${c}`, token);
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page a request without the token gets (401): what is missing and a form to give the token. */
export function refusalPage(res: ServerResponse, why: string): void {
  res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="ferry"' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ferry: sign in</title>
<style>body{font:14px system-ui,sans-serif;margin:4em auto;max-width:28em;color:#222}input{font:inherit;padding:.4em;width:100%;box-sizing:border-box}button{font:inherit;padding:.4em 1.2em;margin-top:.6em}.why{color:#a00}</style></head>
<body><h1>ferry: not signed in</h1><p class="why" id="why">${escapeHtml(why)}</p>
<p>This live view takes the token of <code>ferry serve --token-file</code>, as the gRPC API does
(or send <code>Authorization: Bearer &lt;token&gt;</code> with each request).</p>
<form method="post" action="/login"><label>Token <input type="password" name="token" autocomplete="current-password" autofocus></label><button type="submit">Sign in</button></form>
</body></html>`);
}

/** A JSON 401 for API calls. */
export function refuseJson(res: ServerResponse): void {
  res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="ferry"' });
  res.end(JSON.stringify({ error: 'unauthenticated: send "authorization: Bearer <token>" (the token of ferry serve --token-file) or sign in at /' }));
}

/** A request body as text, refused beyond `limit` characters. */
export async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > limit) throw new InvalidArgumentError(`body: larger than ${limit} characters`, { code: 'INVALID_ARGUMENT' });
  }
  return text;
}

/** POST /login: a right token sets the cookie and goes home; a wrong one gets the refusal again. */
export async function login(req: IncomingMessage, res: ServerResponse, token: string, secure: boolean): Promise<void> {
  const given = new URLSearchParams(await readBody(req)).get('token') ?? '';
  if (!bearerMatches(`Bearer ${given}`, token)) return refusalPage(res, 'That token is not the one ferry serve was given.');
  res.writeHead(303, {
    location: '/',
    'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(given)}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`,
  });
  res.end();
}
