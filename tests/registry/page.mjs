// Opens the registry's page in Debian's headless chromium and prints one JSON report for
// tests/registry/test_page.py: the sections and their text, requests that left the registry,
// console errors. Saves a full-page screenshot. playwright-core comes from web/ (the cwd).
//
// usage: node tests/registry/page.mjs URL SCREENSHOT_PATH USER_DATA_DIR
import { createRequire } from "node:module";

const require = createRequire(`${process.cwd()}/`);
const { chromium } = require("playwright-core");

const [url, screenshotPath, userDataDir] = process.argv.slice(2);
const origin = new URL(url).origin;
const report = { offsite: [], consoleErrors: [] };

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = context.pages()[0] || (await context.newPage());
  await page.route("**/*", (route) => {
    const requestUrl = route.request().url();
    if (requestUrl.startsWith(origin) || requestUrl.startsWith("data:")) return route.continue();
    report.offsite.push(requestUrl);
    return route.abort();
  });
  page.on("console", (message) => {
    if (message.type() === "error") report.consoleErrors.push(message.text());
  });
  const response = await page.goto(url, { waitUntil: "load" });
  report.status = response.status();
  report.title = await page.title();
  report.sections = {};
  for (const id of ["subgraphs", "api-schema", "supergraphs", "checks", "operations", "usage"]) {
    report.sections[id] = await page.locator(`#${id}`).innerText();
  }
  await page.screenshot({ path: screenshotPath, fullPage: true });
} catch (error) {
  report.error = String(error && error.stack ? error.stack : error);
} finally {
  await context.close();
}
console.log(JSON.stringify(report));
