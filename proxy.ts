// Next 16 proxy (formerly middleware): only redirects signed-out browsers to /login. It is NOT the
// security boundary — every server action and route handler authorizes itself.
import { withAuth, type NextRequestWithAuth } from "next-auth/middleware";
import type { NextFetchEvent } from "next/server";

const auth = withAuth({ pages: { signIn: "/login" }, secret: process.env.AUTH_SECRET });

export function proxy(req: NextRequestWithAuth, event: NextFetchEvent) {
  return auth(req, event);
}

export const config = { matcher: ["/((?!login|api|pki|_next|favicon.ico).*)"] };
