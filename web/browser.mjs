// Drives GraphiQL in Debian's headless chromium and prints one JSON report for the Python test:
// the page loads, a typed query runs and its result shows, the docs list the API schema, the
// headers editor's headers reach the gateway, the plan panel shows the plan, and nothing is
// fetched from anywhere but the gateway. Saves a screenshot.
//
// usage: node browser.mjs URL SCREENSHOT_PATH USER_DATA_DIR
import { chromium } from "playwright-core";

// headersText: typed into the headers editor as is (the editor closes the brace itself).
const [url, screenshotPath, userDataDir, headersText] = process.argv.slice(2);
const QUERY = "{ me { name } genres(first: 2) { name } }";
const origin = new URL(url).origin;
const report = { offsite: [], consoleErrors: [] };

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = context.pages()[0] || (await context.newPage());
  // Offline proof: every request must go to the gateway; anything else is recorded and refused.
  await page.route("**/*", (route) => {
    const requestUrl = route.request().url();
    if (requestUrl.startsWith(origin) || requestUrl.startsWith("data:")) return route.continue();
    report.offsite.push(requestUrl);
    return route.abort();
  });
  page.on("console", (message) => {
    if (message.type() === "error") report.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => report.consoleErrors.push(String(error)));

  const response = await page.goto(url, { waitUntil: "load" });
  report.status = response.status();
  await page.locator(".graphiql-container").waitFor({ timeout: 30000 });
  report.loaded = true;

  // Headers go in through the headers editor, as a developer would type them.
  await page.getByText("Headers", { exact: true }).click();
  const headersEditor = page.locator(".graphiql-editor-tool .CodeMirror").last();
  await headersEditor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.type(headersText);

  // The query is typed into the editor (auto-closed brackets are removed first).
  const queryEditor = page.locator(".graphiql-query-editor .CodeMirror").first();
  await queryEditor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.type(QUERY, { delay: 5 });
  await page.keyboard.press("Escape");
  report.typed = await page.evaluate(
    () => document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.getValue()
  );
  report.headers = await page.evaluate(() => {
    const editors = document.querySelectorAll(".graphiql-editor-tool .CodeMirror");
    return editors[editors.length - 1].CodeMirror.getValue();
  });

  await page.locator(".graphiql-execute-button").click();
  await page.waitForFunction(
    () => {
      const result = document.querySelector(".result-window .CodeMirror");
      return result && result.CodeMirror.getValue().includes("genres");
    },
    null,
    { timeout: 30000 }
  );
  report.result = JSON.parse(
    await page.evaluate(() => document.querySelector(".result-window .CodeMirror").CodeMirror.getValue())
  );

  await page.getByRole("button", { name: "Show Documentation Explorer" }).click();
  await page.locator(".graphiql-doc-explorer").getByText("Query", { exact: true }).first().waitFor();
  report.docs = await page.locator(".graphiql-doc-explorer").innerText();

  await page.getByRole("button", { name: "Show Query plan" }).click();
  const plan = page.locator(".edgegraph-plan-text");
  await plan.waitFor({ timeout: 10000 });
  report.plan = await plan.innerText();

  await page.screenshot({ path: screenshotPath, fullPage: true });
  report.screenshot = screenshotPath;
} catch (error) {
  report.error = String(error && error.stack ? error.stack : error);
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(report) + "\n");
