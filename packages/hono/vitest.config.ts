import { config } from "../../vitest.shared.ts";
export default config({ testTimeout: 20_000 });
