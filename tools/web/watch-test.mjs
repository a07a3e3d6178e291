// The watch page in headless Chromium (Debian's, driven by playwright-core):
// one scenario per run, chosen by the Go test that prepared its data
// (tools/e2e/web_test.go). Input: the JSON in WEB_TEST; output: one JSON line
// with what was seen; a failure exits 1 with its reason on stderr.
//
//   WEB_TEST='{"scenario":"browse-buy","base":"http://127.0.0.1:8080",...}' node watch-test.mjs

import { chromium } from "playwright-core";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cfg = JSON.parse(process.env.WEB_TEST || "{}");
const base = (cfg.base || "http://127.0.0.1:8080").replace(/\/$/, "");
const artifacts = cfg.artifacts || tmpdir();
const T = 30_000;

// The flags the issue asks for; playwright adds its automation ones.
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function fail(msg) {
  throw new Error(msg);
}

async function signIn(page) {
  await page.goto(base + "/", { waitUntil: "domcontentloaded" });
  await page.locator("#view-signin").waitFor({ state: "visible", timeout: T });
  await page.fill("#signin-email", cfg.email);
  await page.fill("#signin-password", cfg.password);
  await page.click("#signin-submit");
  await page.locator("#view-catalog").waitFor({ state: "visible", timeout: T });
  await page.locator("#who").waitFor({ state: "visible", timeout: T });
}

async function shot(page, name) {
  const path = join(artifacts, name + ".png");
  await page.screenshot({ path, fullPage: true });
  return path;
}

async function openVideo(page) {
  await page.goto(`${base}/#/movie/${encodeURIComponent(cfg.movieId)}`);
  const row = page.locator(`#video-list li[data-video-id="${cfg.videoId}"]`);
  await row.waitFor({ timeout: T });
  const status = await row.getAttribute("data-status");
  if (status !== "READY") fail(`video ${cfg.videoId} shows ${status}, want READY`);
  await row.locator("a.play").click();
  await page.locator("#view-watch").waitFor({ state: "visible", timeout: T });
}

const scenarios = {
  // Sign in, browse, search, open a movie, buy a plan on the Midtrans
  // emulator's page, come back and see the order complete.
  async "browse-buy"(page) {
    await signIn(page);
    await page.locator("#movie-list li").first().waitFor({ timeout: T });
    const listed = await page.locator("#movie-list li").count();
    await page.fill("#search-q", cfg.search);
    await page.click("#search-form button[type=submit]");
    // The unfiltered list may hold the movie too: wait for the search's answer.
    await page.waitForFunction((q) => (document.getElementById("catalog-summary").textContent || "").includes(q), cfg.search, { timeout: T });
    const tile = page.locator(`#movie-list a[data-movie-id="${cfg.movieId}"]`);
    await tile.waitFor({ timeout: T });
    const found = await page.locator("#movie-list li").count();
    const summary = await page.textContent("#catalog-summary");
    await tile.click();
    await page.locator("#view-movie").waitFor({ state: "visible", timeout: T });
    // The view shows before the movie's answer fills it: wait for the name.
    await page.waitForFunction((n) => document.getElementById("movie-name")?.textContent === n, cfg.movieName, { timeout: T }).catch(() => {});
    const name = await page.textContent("#movie-name");
    if (name !== cfg.movieName) fail(`movie page shows ${JSON.stringify(name)}, want ${JSON.stringify(cfg.movieName)}`);
    const videos = await page.locator("#video-list li[data-video-id]").evaluateAll((ls) => ls.map((l) => l.dataset.status));

    await page.goto(base + "/#/plans");
    const buy = page.locator(`button.buy[data-plan-id="${cfg.planId}"]`);
    await buy.waitFor({ timeout: T });
    const before = await page.textContent("#subscription-status");
    await Promise.all([page.waitForURL((u) => u.href.startsWith(cfg.midtrans), { timeout: T }), buy.click()]);
    const emulatorURL = page.url();
    await page.locator("#pay").waitFor({ timeout: T });
    await page.selectOption("#method", "gopay");
    await page.click("#pay");
    await page.waitForFunction(() => /settlement/.test(document.getElementById("status")?.textContent || ""), null, { timeout: T });
    const emulatorShot = await shot(page, "web-midtrans-paid");
    // The emulator has no way back (no finish URL): the back button returns
    // to the page, which polls the order.
    await page.goBack({ waitUntil: "domcontentloaded" });
    if (!page.url().startsWith(base)) await page.goto(base + "/#/plans");
    await page.locator('#order-status[data-status="COMPLETED"]').waitFor({ timeout: 90_000 });
    await page.waitForFunction(() => /subscribed to/.test(document.getElementById("subscription-status")?.textContent || ""), null, { timeout: T });
    const after = await page.textContent("#subscription-status");
    return { listed, found, summary, videos, before, emulatorURL, after, screenshots: [emulatorShot, await shot(page, "web-subscribed")] };
  },

  // An unsubscribed user opens a READY video and is told why it does not play.
  async "not-subscribed"(page) {
    await signIn(page);
    await openVideo(page);
    const refusal = page.locator("#watch-refusal");
    await refusal.waitFor({ state: "visible", timeout: T });
    const code = await refusal.getAttribute("data-code");
    const reason = await page.textContent("#watch-reason");
    const plansLink = await page.locator("#watch-plans").isVisible();
    if (code !== "not_subscribed" && code !== "subscription_expired") fail(`refusal ${code}: ${reason}`);
    if (await page.locator("#player").isVisible()) fail("the player is shown to an unsubscribed user");
    return { code, reason, plansLink, screenshots: [await shot(page, "web-not-subscribed")] };
  },

  // A subscriber plays: currentTime advances, qualities are listed, a pause
  // saves the position, and a reload resumes near it.
  async playback(page) {
    await signIn(page);
    await openVideo(page);
    await page.locator("#player").waitFor({ state: "visible", timeout: T });
    const video = page.locator("#video");
    await page.waitForFunction(() => document.querySelector("#quality").options.length > 1, null, { timeout: T });
    // Autoplay without a gesture is allowed muted.
    await video.evaluate((v) => { v.muted = true; return v.play().catch(() => {}); });
    await page.waitForFunction(() => document.getElementById("video").currentTime > 1, null, { timeout: T });
    const levels = await page.locator("#quality option").allTextContents();
    // Pick the first fixed level, then back to auto.
    await page.selectOption("#quality", "0");
    await page.waitForFunction((want) => {
      const now = document.getElementById("quality-now").textContent;
      return now.includes(want) && !now.includes("auto");
    }, levels[1], { timeout: T });
    const fixed = await page.textContent("#quality-now");
    await page.selectOption("#quality", "-1");
    await page.waitForFunction(() => document.getElementById("video").currentTime > 3.5, null, { timeout: T });
    const [put] = await Promise.all([
      page.waitForRequest((r) => r.method() === "PUT" && r.url().endsWith("/progress"), { timeout: T }),
      video.evaluate((v) => v.pause()),
    ]);
    const saved = JSON.parse(put.postData()).positionSeconds;
    const answer = await put.response();
    if (!answer || answer.status() >= 300) fail(`progress PUT answered ${answer && answer.status()}`);
    const playedTo = await video.evaluate((v) => v.currentTime);
    const playingShot = await shot(page, "web-playing");
    await page.reload({ waitUntil: "domcontentloaded" });
    await page.locator("#player").waitFor({ state: "visible", timeout: T });
    await page.waitForFunction(() => document.getElementById("video").readyState >= 1 && document.getElementById("video").currentTime > 0.5, null, { timeout: T });
    const resumedAt = await video.evaluate((v) => v.currentTime);
    const note = await page.textContent("#resume-note");
    if (Math.abs(resumedAt - saved) > 2) fail(`resumed at ${resumedAt}, saved ${saved}`);
    return { playedTo, levels, fixed, saved, resumedAt, note, screenshots: [playingShot, await shot(page, "web-resumed")] };
  },
};

async function main() {
  const run = scenarios[cfg.scenario];
  if (!run) fail(`unknown scenario ${JSON.stringify(cfg.scenario)}: one of ${Object.keys(scenarios).join(", ")}`);
  mkdirSync(artifacts, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "tenflix-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: cfg.chromium || "/usr/bin/chromium", headless: true, args: FLAGS, viewport: { width: 1280, height: 800 },
  });
  const problems = [];
  try {
    const page = ctx.pages()[0] || (await ctx.newPage());
    page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    let result;
    try {
      result = await run(page);
    } catch (e) {
      await shot(page, `web-${cfg.scenario}-failed`).catch(() => {});
      throw new Error(`${e.message}\nconsole errors: ${JSON.stringify(problems)}`);
    }
    // A policy violation means the page is broken in a way a test may miss.
    const csp = problems.filter((p) => /Content Security Policy/i.test(p));
    if (csp.length) fail("CSP violations: " + JSON.stringify(csp));
    console.log(JSON.stringify({ scenario: cfg.scenario, ...result, consoleErrors: problems }));
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
