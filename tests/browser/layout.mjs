// The report's layout on a phone and in print: node layout.mjs CHROMIUM PAGE.html WIDTH
// Reports the tables clipped at WIDTH (neither inside the page nor in a box that scrolls
// sideways), the page's own sideways overflow, and, in print, the `.note` texts inside a
// table cell that are not smaller than the cell's figures.
import puppeteer from "puppeteer-core";

const [chromium, page, width] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  const tab = await browser.newPage();
  await tab.setViewport({ width: Number(width), height: 800 });
  await tab.goto("file://" + page, { waitUntil: "load" });
  const screen = await tab.evaluate(() => {
    const viewport = document.documentElement.clientWidth;
    const scrolls = (el) => {
      for (let p = el.parentElement; p; p = p.parentElement) {
        const style = getComputedStyle(p);
        if (["auto", "scroll"].includes(style.overflowX) && p.getBoundingClientRect().right <= viewport + 0.5) return true;
      }
      return false;
    };
    const clipped = [...document.querySelectorAll("table")]
      .filter((t) => t.getClientRects().length)  // displayed (closed <details> are not)
      .filter((t) => t.getBoundingClientRect().right > viewport + 0.5 && !scrolls(t))
      .map((t) => t.id || t.querySelector("th")?.textContent.slice(0, 40));
    return { tables: document.querySelectorAll("table").length, clipped,
             page_overflow: document.documentElement.scrollWidth - viewport };
  });
  await tab.emulateMediaType("print");
  const notes = await tab.evaluate(() =>
    [...document.querySelectorAll("td .note, th .note")]
      .filter((n) => n.getClientRects().length)
      .filter((n) => parseFloat(getComputedStyle(n).fontSize) >=
                     parseFloat(getComputedStyle(n.closest("td, th")).fontSize))
      .map((n) => n.textContent.slice(0, 40)));
  const checked = await tab.evaluate(() => document.querySelectorAll("td .note, th .note").length);
  console.log(JSON.stringify({ ...screen, notes_not_smaller: notes, notes_checked: checked }));
} finally {
  await browser.close();
}
