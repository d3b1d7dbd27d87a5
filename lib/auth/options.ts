// next-auth configuration: email + password, JWT sessions. The session only says who signed in;
// lib/auth/session.ts re-reads the user on every request, so a role change or a disabled account
// takes effect at once instead of when the JWT expires.
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { getAuthSecret } from "../secrets";
import { checkCredentials } from "./credentials";
import { CLIENT_IP_HEADER } from "./client-ip";
import { sharedThrottle } from "./rate-limit";

export const RATE_LIMITED_ERROR = "RateLimited";

/** Set by the custom server (server.ts) from the socket or the trusted proxies; "unknown" under plain `next dev`/`next start`. */
function clientIp(headers: Record<string, unknown> | undefined): string {
  const value = headers?.[CLIENT_IP_HEADER];
  return typeof value === "string" && value ? value : "unknown";
}

export function authOptions(): NextAuthOptions {
  return {
    secret: getAuthSecret(),
    session: { strategy: "jwt", maxAge: 12 * 60 * 60 },
    pages: { signIn: "/login" },
    providers: [
      CredentialsProvider({
        name: "Email",
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        async authorize(credentials, req) {
          const email = String(credentials?.email ?? "").trim().toLowerCase();
          const password = String(credentials?.password ?? "");
          if (!email || !password || email.length > 320 || password.length > 1024) return null;
          const ip = clientIp(req?.headers);
          const throttle = sharedThrottle("login");
          if ((await throttle.tryBegin(email, ip)) > 0) throw new Error(RATE_LIMITED_ERROR);
          const user = await checkCredentials(email, password).catch(async (e) => {
            await throttle.abandon(email, ip);
            throw e;
          });
          if (!user) {
            await throttle.fail(email, ip);
            return null;
          }
          await throttle.succeed(email, ip);
          return { id: user.id, email: user.email, name: user.name ?? user.email };
        },
      }),
    ],
    callbacks: {
      async jwt({ token, user }) {
        if (user) token.uid = user.id;
        return token;
      },
      async session({ session, token }) {
        if (session.user) (session.user as { id?: string }).id = token.uid as string | undefined;
        return session;
      },
    },
  };
}
