// An empty module: `deno run` start-up floor for the end-to-end bench.
export {};
