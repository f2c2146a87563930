import { config } from "../../vitest.shared.ts";
export default config({ testTimeout: 30_000 });
