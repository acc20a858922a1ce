// Drives the chat page of `minimind serve` (GET /) in a real headless Chromium (Debian's chromium, through
// puppeteer-core) as a user would: sets temperature 0 and max tokens, optionally ticks "thinking", types the message,
// presses Enter, waits for the streamed reply (asked for with stream: true, served as text/event-stream) to finish, saves a screenshot, and prints what the page shows as one JSON
// object (the test compares the reply with `minimind generate --chat --greedy`).
// Usage: node chat_page_check.mjs BASE_URL SCREENSHOT.png MESSAGE MAX_TOKENS THINKING(0|1) [CHROMIUM]
import puppeteer from "puppeteer-core";

const [baseURL, screenshot, message, maxTokens, thinking, chromium] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: chromium || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1000, height: 700 });
  const errors = [];
  page.on("pageerror", e => errors.push(String(e)));
  page.on("console", m => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(baseURL + "/", { waitUntil: "networkidle0" });
  // the model's name comes from /v1/models
  await page.waitForFunction(() => document.getElementById("model").textContent !== "…", { timeout: 30000 });

  const setValue = async (sel, v) => page.$eval(sel, (el, v) => { el.value = v; el.dispatchEvent(new Event("change")); }, v);
  await setValue("#temperature", "0");
  await setValue("#maxTokens", maxTokens);
  const box = await page.$("#thinking");
  if ((await box.evaluate(el => el.checked)) !== (thinking === "1")) await box.click();

  // the reply must be asked for and served as a stream (how many renders it took depends on the machine's timing)
  let streamRequested = null, eventStream = null;
  page.on("request", r => {
    if (r.url().endsWith("/v1/chat/completions") && r.method() === "POST") streamRequested = JSON.parse(r.postData() || "{}").stream === true;
  });
  page.on("response", r => {
    if (r.url().endsWith("/v1/chat/completions")) eventStream = (r.headers()["content-type"] || "").startsWith("text/event-stream");
  });
  await page.type("#input", message);
  await page.keyboard.press("Enter");
  await page.waitForSelector(".assistant[data-done='1']", { timeout: 240000 });

  const shown = await page.evaluate(() => {
    const a = document.querySelector(".assistant");
    const d = a.querySelector("details");
    return {
      model: document.getElementById("model").textContent,
      user: document.querySelector(".user").textContent,
      answer: a.querySelector(".answer").textContent,
      error: a.classList.contains("error"),
      reasoning: d ? d.querySelector("div").textContent : null,
      reasoningFolded: d ? !d.open : null,
      reasoningSummary: d ? d.querySelector("summary").textContent : null,
      stats: a.querySelector(".stats").textContent,
      thinkingToggle: !!document.querySelector("#thinking[type=checkbox]"),
      thinkingChecked: document.getElementById("thinking").checked,
      sendEnabled: !document.getElementById("send").disabled,
    };
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ ...shown, streamRequested, eventStream, errors, screenshot }));
} finally {
  await browser.close();
}
