import { existsSync, readFileSync } from "node:fs";
import { defineConfig } from "vitepress";

// the API reference: TypeDoc → Markdown (typedoc-plugin-markdown + typedoc-vitepress-theme) in docs/reference,
// written by `pnpm run docs` (scripts/docs.mjs) before the site is built
const sidebarFile = new URL("../reference/typedoc-sidebar.json", import.meta.url);
const referenceSidebar = existsSync(sidebarFile) ? JSON.parse(readFileSync(sidebarFile, "utf8")) : [];

export default defineConfig({
  title: "ws-toolkit",
  description: "One WebSocket core, one service API, every runtime: Node, Bun, Deno and Cloudflare Workers.",
  cleanUrls: true,
  lastUpdated: false,
  // dead links fail the build (VitePress's default; kept on): localhost URLs in samples are not links
  ignoreDeadLinks: ["localhostLinks"],
  // the local search index of the reference is one large chunk; it is loaded on demand, only when searching
  vite: { build: { chunkSizeWarningLimit: 4096 } },
  themeConfig: {
    nav: [
      { text: "Guide", link: "/guide/getting-started" },
      { text: "Reference", link: "/reference/" },
    ],
    sidebar: {
      "/guide/": [
        {
          text: "Start",
          items: [
            { text: "Getting started", link: "/guide/getting-started" },
            { text: "Services and connections", link: "/guide/services" },
          ],
        },
        {
          text: "Run it",
          items: [
            { text: "Limits and security", link: "/guide/limits-and-security" },
            { text: "Frameworks", link: "/guide/frameworks" },
            { text: "Deployment", link: "/guide/deployment" },
            { text: "Scaling", link: "/guide/scaling" },
            { text: "Observability", link: "/guide/observability" },
            { text: "Performance", link: "/guide/performance" },
            { text: "Testing your service", link: "/guide/testing" },
          ],
        },
        {
          text: "Coming from",
          items: [{ text: "ws, Bun.serve, socket.io", link: "/guide/migrating" }],
        },
      ],
      "/reference/": [{ text: "API reference", link: "/reference/", items: referenceSidebar }],
    },
    search: { provider: "local" },
    outline: { level: [2, 3] },
  },
});
