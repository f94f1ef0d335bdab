// Print an HTML file to PDF with the system Chromium, as a reader would from the print
// dialog: node print.mjs CHROMIUM PAGE.html OUT.pdf A4|Letter
import puppeteer from "puppeteer-core";

const [chromium, page, out, format] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  const tab = await browser.newPage();
  await tab.goto("file://" + page, { waitUntil: "load" });
  await tab.emulateMediaType("print");
  await tab.pdf({ path: out, format, printBackground: true, preferCSSPageSize: false });
  // the widest overflow of any element in print layout, in CSS pixels (0 = nothing cut)
  const overflow = await tab.evaluate(() =>
    Math.max(0, ...[...document.querySelectorAll(".scroll, table")].map(
      (el) => el.scrollWidth - el.clientWidth)));
  console.log(JSON.stringify({ overflow }));
} finally {
  await browser.close();
}
