// Run axe-core (WCAG 2.1 A/AA and best practices) on an HTML file in the system Chromium
// and print the violations as JSON: node axe.mjs CHROMIUM PAGE.html
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const [chromium, page, width] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  const tab = await browser.newPage();
  await tab.setViewport({ width: Number(width || 1100), height: 900 });
  await tab.goto("file://" + page, { waitUntil: "load" });
  await tab.evaluate(axeSource);
  const result = await tab.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    }));
  const violations = result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
  console.log(JSON.stringify({ violations, passes: result.passes.length }));
} finally {
  await browser.close();
}
