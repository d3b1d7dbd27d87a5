import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  poweredByHeader: false,
  // The custom server (server.ts) owns HTTP/HTTPS; Next only renders pages, actions and /api/v1.
  typedRoutes: false,
  // `npm run typecheck` (tsc over the whole tree, in CI) is the type gate; skipping Next's own
  // pass keeps the first `npm start` on a fresh machine short.
  typescript: { ignoreBuildErrors: true },
  // pkcs11js loads a native addon (lib/pki/pkcs11.ts): required at run time, not bundled.
  serverExternalPackages: ["pkcs11js"],
};

export default nextConfig;
