#!/usr/bin/env node
// node:test over the given files in the given order (the CLI, `node --test`,
// sorts them by path), N at a time, with the spec reporter on stdout and a TAP
// copy in a file. run-tests.mjs starts it with the flags the test files need
// (--conditions=development --import tsx), which node:test passes on to each
// file's process.
//   node ... scripts/run-test-files.mjs <concurrency> <tap-file> <file>...
import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { run } from "node:test";
import { spec, tap } from "node:test/reporters";

const [concurrency, tapFile, ...files] = process.argv.slice(2);
const stream = run({ files, concurrency: Number(concurrency) });
stream.on("test:fail", () => {
  process.exitCode = 1;
});
stream.compose(new spec()).pipe(process.stdout);
const copy = createWriteStream(tapFile);
stream.compose(tap).pipe(copy);
await finished(copy);
