// next-auth configuration: email + password, JWT sessions. The session only says who signed in;
// lib/auth/session.ts re-reads the user on every request, so a role change or a disabled account
// takes effect at once instead of when the JWT expires.
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { getAuthSecret } from "../secrets";
import { checkCredentials } from "../services/users";
import { loginLimits } from "./rate-limit";

export const RATE_LIMITED_ERROR = "RateLimited";

function clientIp(headers: Record<string, unknown> | undefined): string {
  const forwarded = headers?.["x-forwarded-for"];
  const value = Array.isArray(forwarded) ? forwarded[0] : forwarded;
  return typeof value === "string" && value ? value.split(",")[0].trim() : "unknown";
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
          const limits = loginLimits();
          const ipOk = limits.ip.hit(clientIp(req?.headers));
          const emailOk = limits.email.hit(email);
          if (!ipOk || !emailOk) throw new Error(RATE_LIMITED_ERROR);
          const user = await checkCredentials(email, password);
          if (!user) return null;
          limits.email.reset(email);
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
