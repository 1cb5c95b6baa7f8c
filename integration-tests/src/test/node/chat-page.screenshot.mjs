// Loads the chat page in headless Chromium, sends one message, waits for the streamed answer and its
// speed line, and saves a screenshot. Usage: node chat-page.screenshot.mjs URL OUT.png [CHROMIUM]
import { chromium } from "playwright-core";

const [url, out, executable = "/usr/bin/chromium"] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: executable, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 560 } });
  await page.goto(url);
  await page.waitForFunction(() => !document.getElementById("model").textContent.startsWith("connecting"));
  await page.fill("#temperature", "0");
  await page.fill("#maxTokens", "60");
  await page.fill("#input", "Tell me a story about a little dog.");
  await page.click("#send");
  await page.waitForSelector(".assistant .stats", { timeout: 30000 });
  const answer = await page.textContent(".assistant");
  const stats = await page.textContent(".assistant .stats");
  if (!/tok\/s/.test(stats) || answer.length <= stats.length) {
    throw new Error("no streamed answer on the page: " + JSON.stringify(answer));
  }
  await page.screenshot({ path: out });
  console.log("answer: " + answer.slice(0, answer.length - stats.length).trim());
  console.log("stats: " + stats);
} finally {
  await browser.close();
}
