import { config } from "../vitest.shared.ts";
export default config({ testTimeout: 300_000 });
