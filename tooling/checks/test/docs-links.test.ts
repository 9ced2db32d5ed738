/**
 * The README is the front door and docs/ the rest: every relative link of the
 * README and of docs/ reaches a file (and a heading, when it names one), and
 * every page of docs/ is reachable from the README's map in one click.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "@orderflow/stack";

const pages = (dir: string): string[] =>
  readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? pages(join(dir, e.name)) : e.name.endsWith(".md") ? [join(dir, e.name)] : [],
  );
const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replace(/ /g, "-");
const linksOf = (file: string) =>
  [...readFileSync(join(REPO_ROOT, file), "utf8").matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] as string)
    .filter((l) => !/^[a-z]+:/.test(l));

describe("docs links", () => {
  it("when every relative link of the README and docs/ is followed, then it reaches a file and its heading", () => {
    const broken: string[] = [];
    for (const file of ["README.md", ...pages("docs")]) {
      for (const link of linksOf(file)) {
        const [path = "", anchor] = link.split("#");
        const target = path ? normalize(join(dirname(file), path)) : file;
        if (!existsSync(join(REPO_ROOT, target))) {
          broken.push(`${file}: ${link} (no such file)`);
          continue;
        }
        if (anchor && target.endsWith(".md")) {
          const headings = [...readFileSync(join(REPO_ROOT, target), "utf8").matchAll(/^#+ (.*)$/gm)].map((m) =>
            slug(m[1] as string),
          );
          if (!headings.includes(anchor)) broken.push(`${file}: ${link} (no such heading)`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it("when the README's map is read, then every page of docs/ is one click away (a page, or its folder)", () => {
    const readme = linksOf("README.md").map((l) => normalize(l.split("#")[0] ?? ""));
    const unreachable = pages("docs").filter((p) => {
      const dir = relative(REPO_ROOT, join(REPO_ROOT, dirname(p)));
      return !readme.includes(p) && !readme.includes(`${dir}/`) && !readme.includes(dir);
    });
    assert.deepEqual(unreachable, []);
  });
});
