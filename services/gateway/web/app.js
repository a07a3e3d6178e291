// Tenflix's watch page: signs in with identity's token endpoint, browses the
// catalog, buys a plan through the Midtrans page and plays HLS with hls.js,
// all through the gateway's public API. Everything the API returns is
// rendered as text (textContent, attributes set one by one), never as HTML.

const SESSION_KEY = "tenflix.session"; // {access, refresh}: this tab only
const ORDER_KEY = "tenflix.pendingOrder"; // the order being paid on the Midtrans page
const PAGE_SIZE = 12;
const SAVE_EVERY_MS = 10_000;

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// ---- session and API ----

let session = readSession();
let me = null;

function readSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    return s && typeof s.access === "string" ? s : null;
  } catch {
    return null;
  }
}

function saveSession(tokens) {
  session = { access: tokens.access_token, refresh: tokens.refresh_token || "" };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

function clearSession() {
  session = null;
  me = null;
  sessionStorage.removeItem(SESSION_KEY);
}

async function request(method, path, { json, form, auth = true, keepalive = false } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = new URLSearchParams(form);
  }
  if (auth && session) headers.Authorization = "Bearer " + session.access;
  const resp = await fetch(path, { method, headers, body, keepalive });
  const type = resp.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await resp.json().catch(() => null) : null;
  if (!resp.ok) {
    const e = data && data.error;
    throw new ApiError(resp.status, (e && e.code) || "http_" + resp.status, (e && e.message) || resp.statusText || "request failed");
  }
  return data;
}

// api is request with one retry after refreshing an expired access token.
async function api(method, path, opts = {}) {
  try {
    return await request(method, path, opts);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401 || opts.auth === false || !session) throw e;
    if (!(await refreshSession())) {
      clearSession();
      notify("Your session has ended: sign in again.", "error");
      route();
      throw e;
    }
    return request(method, path, opts);
  }
}

async function refreshSession() {
  if (!session || !session.refresh) return false;
  try {
    const t = await request("POST", "/api/v1/auth/token", {
      auth: false, form: { grant_type: "refresh_token", refresh_token: session.refresh },
    });
    saveSession(t);
    return true;
  } catch {
    return false;
  }
}

async function signIn(email, password) {
  const t = await request("POST", "/api/v1/auth/token", {
    auth: false, form: { grant_type: "password", username: email, password },
  });
  saveSession(t);
}

// ---- rendering helpers ----

// el makes an element; attrs are set as attributes (text: textContent).
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = String(v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function notify(text, kind = "info") {
  const n = $("notice");
  n.textContent = text;
  n.className = "notice " + kind;
  n.hidden = !text;
}

function show(view) {
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== "view-" + view;
}

// safeURL keeps http(s) and same-origin paths; anything else (javascript:) is dropped.
function safeURL(u) {
  if (typeof u !== "string" || u === "") return null;
  try {
    const p = new URL(u, location.origin);
    return p.protocol === "https:" || p.protocol === "http:" ? p.href : null;
  } catch {
    return null;
  }
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function rupiah(n) {
  return "Rp " + Number(n).toLocaleString("id-ID");
}

function names(list) {
  return (list || []).map((x) => x.name).join(", ");
}

// ---- router ----

window.addEventListener("hashchange", () => route());

async function route() {
  stopPlayer();
  const [path, qs] = (location.hash.slice(1) || "/").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const signedIn = !!session;
  $("nav").hidden = $("signout").hidden = $("who").hidden = !signedIn;
  if (!signedIn) {
    show("signin");
    return;
  }
  try {
    if (!me) {
      me = await api("GET", "/api/v1/auth/me");
      $("who").textContent = me.name ? `${me.name} (${me.email})` : me.email;
    }
    pollPendingOrder();
    switch (parts[0] || "") {
      case "": return await catalog(new URLSearchParams(qs || ""));
      case "movie": return await movie(parts[1]);
      case "watch": return await watch(parts[1], parts[2]);
      case "plans": return await plans();
      default: location.hash = "#/";
    }
  } catch (e) {
    if (session) notify(e.message, "error");
  }
}

// ---- sign in, register, sign out ----

$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await signIn($("signin-email").value.trim(), $("signin-password").value);
    $("signin-password").value = "";
    notify("");
    route();
  } catch (e) {
    notify(e.status === 401 ? "Wrong email or password." : e.message, "error");
  }
});

$("register-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const email = $("register-email").value.trim(), password = $("register-password").value;
  try {
    await request("POST", "/api/v1/auth/register", {
      auth: false, json: { name: $("register-name").value.trim(), email, password },
    });
    await signIn(email, password);
    $("register-password").value = "";
    notify("Welcome to Tenflix.");
    route();
  } catch (e) {
    notify(e.message, "error");
  }
});

$("signout").addEventListener("click", async () => {
  const refresh = session && session.refresh;
  clearSession();
  if (refresh) await request("POST", "/api/v1/auth/logout", { auth: false, form: { refresh_token: refresh } }).catch(() => {});
  notify("Signed out.");
  location.hash = "#/";
  route();
});

// ---- catalog ----

$("search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = new URLSearchParams();
  if ($("search-q").value.trim()) q.set("q", $("search-q").value.trim());
  q.set("sort", $("search-sort").value);
  location.hash = "#/?" + q;
});

async function catalog(params) {
  show("catalog");
  const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  const q = params.get("q") || "", sort = params.get("sort") || "newest";
  $("search-q").value = q;
  $("search-sort").value = sort;
  continueWatching();
  const query = new URLSearchParams({ page, size: PAGE_SIZE, sort });
  if (q) query.set("q", q);
  const list = await api("GET", "/api/v1/movie-query/movies?" + query);
  const items = list.items || [];
  $("catalog-summary").textContent = q
    ? `${list.total} result${list.total === 1 ? "" : "s"} for “${q}”`
    : `${list.total} title${list.total === 1 ? "" : "s"}`;
  $("movie-list").replaceChildren(...items.map(movieTile));
  const pages = Math.max(1, Math.ceil(list.total / PAGE_SIZE));
  const go = (p) => { params.set("page", p); location.hash = "#/?" + params; };
  $("page-prev").disabled = page <= 1;
  $("page-next").disabled = page >= pages;
  $("page-prev").onclick = () => go(page - 1);
  $("page-next").onclick = () => go(page + 1);
}

function movieTile(m) {
  const img = safeURL(m.image);
  return el("li", {},
    el("a", { class: "tile card", href: "#/movie/" + enc(m.id), "data-movie-id": m.id },
      img ? el("img", { src: img, alt: "", loading: "lazy" }) : null,
      el("strong", { text: m.name }),
      el("span", { class: "muted", text: [String(m.releaseDate || "").slice(0, 4), m.mpaRating, m.rating ? "★ " + m.rating : ""].filter(Boolean).join(" · ") }),
      el("div", { class: "muted", text: names(m.categories) })));
}

// continueWatching fills the row when the user has videos in progress; the
// row stays hidden when there are none or the list cannot be read.
async function continueWatching() {
  let data;
  try {
    data = await api("GET", "/api/v1/movie-query/continue-watching");
  } catch {
    $("continue").hidden = true;
    return;
  }
  const items = Array.isArray(data) ? data : (data && data.items) || [];
  $("continue").hidden = items.length === 0;
  $("continue-list").replaceChildren(...items.map((it) => {
    const movieId = it.movieId || (it.movie && it.movie.id), videoId = it.videoId || (it.video && it.video.id);
    const title = it.title || (it.video && it.video.title) || "Video";
    const movieName = it.movieName || (it.movie && it.movie.name) || "";
    const pos = Number(it.positionSeconds) || 0;
    const length = Number(it.lengthSeconds || (it.video && it.video.lengthSeconds)) || 0;
    const pct = length > 0 ? Math.min(100, (100 * pos) / length) : 0;
    const filled = el("span");
    filled.style.width = pct.toFixed(1) + "%"; // CSSOM: the policy refuses style attributes
    return el("li", {},
      el("a", { class: "tile card", href: `#/watch/${enc(movieId)}/${enc(videoId)}` },
        el("strong", { text: title }),
        movieName ? el("span", { class: "muted", text: movieName }) : null,
        el("div", { class: "muted", text: "at " + clock(pos) + (length ? " of " + clock(length) : "") }),
        el("div", { class: "bar" }, filled)));
  }));
}

// ---- a movie and its videos ----

async function movie(id) {
  show("movie");
  const m = await api("GET", "/api/v1/movie-query/movies/" + enc(id || ""));
  $("movie-name").textContent = m.name;
  $("movie-meta").textContent = [m.type, String(m.releaseDate || "").slice(0, 4), m.mpaRating, m.rating ? "★ " + m.rating : "", names(m.categories)].filter(Boolean).join(" · ");
  $("movie-synopsis").textContent = m.synopsis || "";
  $("movie-people").textContent = [m.actors && m.actors.length ? "With " + names(m.actors) : "", m.creators && m.creators.length ? "By " + names(m.creators) : ""].filter(Boolean).join(". ");
  const videos = m.videos || [];
  $("video-list").replaceChildren(...(videos.length ? videos.map((v) => videoRow(m.id, v)) : [el("li", { class: "muted", text: "No videos yet." })]));
}

function videoRow(movieId, v) {
  const status = String(v.status || "").toUpperCase();
  let detail = "";
  if (status === "TRANSCODING" && v.progress !== undefined) detail = `${v.progress}%`;
  if (status === "FAILED" && v.failureReason) detail = v.failureReason;
  const ready = status === "READY";
  return el("li", { "data-video-id": v.id, "data-status": status },
    el("span", { class: "title" }, el("strong", { text: v.title }), v.lengthSeconds ? el("span", { class: "muted", text: " " + clock(v.lengthSeconds) }) : null),
    el("span", { class: "status " + status, text: status || "UNKNOWN" }),
    detail ? el("span", { class: "muted", text: detail }) : null,
    ready ? el("a", { class: "button primary play", href: `#/watch/${enc(movieId)}/${enc(v.id)}`, text: "Play" })
      : el("button", { type: "button", disabled: true, text: "Not ready" }));
}

// ---- watching ----

const refusals = {
  not_subscribed: ["You are not subscribed. Choose a plan to start watching.", true],
  subscription_expired: ["Your subscription has expired. Renew it to keep watching.", true],
  video_not_ready: ["This video is not ready yet: it is still being processed, or processing failed.", false],
  unavailable: ["Playback is unavailable right now. Please try again in a moment.", false],
  not_found: ["This video does not exist (any more).", false],
};

async function watch(movieId, videoId) {
  show("watch");
  $("watch-back").setAttribute("href", "#/movie/" + enc(movieId || ""));
  $("watch-title").textContent = "";
  $("watch-refusal").hidden = true;
  $("player").hidden = true;
  let w;
  try {
    w = await api("GET", `/api/v1/movie-query/videos/${enc(movieId || "")}/${enc(videoId || "")}`);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const [text, plansLink] = refusals[e.code] || [e.message, false];
    $("watch-refusal").dataset.code = e.code;
    $("watch-reason").textContent = text + (refusals[e.code] && e.message ? ` (${e.message})` : "");
    $("watch-plans").hidden = !plansLink;
    $("watch-refusal").hidden = false;
    // Best effort: say which video was refused.
    api("GET", "/api/v1/movie-query/movies/" + enc(movieId || "")).then((m) => {
      const v = (m.videos || []).find((x) => x.id === videoId);
      $("watch-title").textContent = v ? `${m.name}: ${v.title}` : m.name;
    }).catch(() => {});
    return;
  }
  $("watch-title").textContent = (w.video && w.video.title) || "";
  startPlayer(w, movieId, videoId);
}

let player = null; // {hls, timer, save, cleanup}

function startPlayer(w, movieId, videoId) {
  const video = $("video"), quality = $("quality");
  const url = safeURL(w.playbackUrl);
  const resumeAt = Math.max(0, Number(w.resumeAt) || 0);
  const playback = (w.video && w.video.playback) || "";
  const isHLS = playback === "hls" || playback === "cloudinary" || /\.m3u8($|\?)/.test(url || "");
  $("player").hidden = false;
  quality.replaceChildren(el("option", { value: "-1", text: "Auto" }));
  quality.disabled = true;
  $("quality-now").textContent = "";
  $("resume-note").textContent = resumeAt > 0 ? "Resuming at " + clock(resumeAt) : "";
  if (!url) {
    playerError("This video has no playable address.");
    return;
  }
  let lastSaved = -1;
  const save = () => {
    const pos = Math.floor(video.currentTime || 0);
    if (pos === lastSaved || !session) return;
    lastSaved = pos;
    request("PUT", `/api/v1/movie-query/videos/${enc(movieId)}/${enc(videoId)}/progress`, {
      json: { positionSeconds: pos }, keepalive: true,
    }).catch(() => { lastSaved = -1; });
  };
  const timer = setInterval(() => { if (!video.paused) save(); }, SAVE_EVERY_MS);
  const onPause = () => save();
  video.addEventListener("pause", onPause);
  window.addEventListener("pagehide", save);
  player = {
    timer, save,
    cleanup: () => {
      video.removeEventListener("pause", onPause);
      window.removeEventListener("pagehide", save);
    },
  };

  if (isHLS && window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ startPosition: resumeAt > 0 ? resumeAt : -1 });
    player.hls = hls;
    hls.on(window.Hls.Events.MANIFEST_PARSED, () => {
      quality.replaceChildren(el("option", { value: "-1", text: "Auto" }),
        ...hls.levels.map((l, i) => el("option", { value: String(i), text: levelName(l) })));
      quality.disabled = hls.levels.length < 2;
      quality.value = "-1";
      video.play().catch(() => {});
    });
    let playing = -1; // the level of what plays now
    const showLevel = () => {
      const l = hls.levels[playing];
      $("quality-now").textContent = l ? "Playing " + levelName(l) + (hls.autoLevelEnabled ? " (auto)" : "") : "";
    };
    hls.on(window.Hls.Events.LEVEL_SWITCHED, (_, d) => { playing = d.level; showLevel(); });
    hls.on(window.Hls.Events.ERROR, (_, d) => {
      if (!d.fatal) return;
      if (d.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
      } else {
        const denied = d.response && (d.response.code === 401 || d.response.code === 403);
        playerError(denied ? "The playback link has expired: reload the page to get a new one." : "The video could not be loaded (" + d.details + ").");
        hls.destroy();
      }
    });
    // Choosing the level that already plays switches nothing (no
    // LEVEL_SWITCHED): say at once that auto is off.
    quality.onchange = () => { hls.currentLevel = Number(quality.value); showLevel(); };
    hls.loadSource(url);
    hls.attachMedia(video);
    return;
  }
  if (isHLS && !video.canPlayType("application/vnd.apple.mpegurl")) {
    playerError(window.Hls ? "This browser cannot play HLS video." : "The player library (hls.js) is missing from this build: run `make build`.");
    return;
  }
  // Native HLS (Safari) or a plain video file: the browser picks the quality.
  $("quality-now").textContent = isHLS ? "Quality chosen by the browser" : "";
  video.addEventListener("loadedmetadata", () => {
    if (resumeAt > 0 && (!video.duration || resumeAt < video.duration)) video.currentTime = resumeAt;
    video.play().catch(() => {});
  }, { once: true });
  video.src = url;
}

function levelName(l) {
  const kbps = l.bitrate ? ` · ${Math.round(l.bitrate / 1000)} kb/s` : "";
  return (l.height ? l.height + "p" : l.name || "level") + kbps;
}

function playerError(text) {
  $("watch-refusal").dataset.code = "player";
  $("watch-reason").textContent = text;
  $("watch-plans").hidden = true;
  $("watch-refusal").hidden = false;
}

function stopPlayer() {
  if (!player) return;
  const video = $("video");
  if (!video.paused) video.pause(); // the pause handler saves the position
  player.save();
  clearInterval(player.timer);
  player.cleanup();
  if (player.hls) player.hls.destroy();
  video.removeAttribute("src");
  video.load();
  player = null;
}

// ---- plans and paying ----

async function plans() {
  show("plans");
  let sub = null;
  try {
    sub = await api("GET", "/api/v1/subscription/me");
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const active = sub && sub.status === "ACTIVE";
  $("subscription-status").textContent = active
    ? `You are subscribed to ${sub.planName || "a plan"} until ${new Date(sub.endAt).toLocaleDateString()}.`
    : "You are not subscribed.";
  const list = await api("GET", "/api/v1/subscription/plans");
  const items = (list && list.items) || [];
  $("plan-list").replaceChildren(...items.map((p) => {
    const discounted = p.discountPrice !== null && p.discountPrice !== undefined;
    const buy = el("button", { type: "button", class: "primary buy", "data-plan-id": p.id, disabled: active, text: active ? "Subscribed" : "Buy" });
    buy.addEventListener("click", () => buyPlan(p, buy));
    return el("li", { class: "card plan" },
      el("h2", { text: p.name }),
      el("p", { class: "price" }, rupiah(discounted ? p.discountPrice : p.price), " ", discounted ? el("s", { text: rupiah(p.price) }) : null),
      el("p", { class: "muted", text: `${p.activePeriod} days` }),
      p.description ? el("p", { text: p.description }) : null,
      buy);
  }));
  if (items.length === 0) $("plan-list").replaceChildren(el("li", { class: "muted", text: "No plans on sale." }));
}

async function buyPlan(p, button) {
  button.disabled = true;
  try {
    const created = await api("POST", "/api/v1/orders", { json: { planId: p.id } });
    const to = safeURL(created.payment && created.payment.redirectUrl);
    if (!to) throw new Error("The payment could not be started: no payment page.");
    sessionStorage.setItem(ORDER_KEY, created.order.id);
    // Midtrans' page does not come back by itself: the back button returns
    // here, and the page polls the order until the saga has finished.
    location.assign(to);
  } catch (e) {
    button.disabled = false;
    if (e.code === "order_pending") notify("You already have an order waiting for payment: finish or cancel it first.", "error");
    else if (e.code === "subscription_active") notify("You are already subscribed.", "error");
    else notify(e.message, "error");
  }
}

let polling = null;

// pollPendingOrder follows the order being paid until it is final.
function pollPendingOrder() {
  const id = sessionStorage.getItem(ORDER_KEY);
  if (!id || polling === id) return;
  polling = id;
  const box = () => $("order-status");
  const tick = async () => {
    if (polling !== id || !session) return;
    let d;
    try {
      d = await api("GET", "/api/v1/orders/" + enc(id));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) { stop(); return; }
      setTimeout(tick, 3000);
      return;
    }
    const status = d.order && d.order.status;
    const b = box();
    b.hidden = false;
    b.dataset.status = status;
    if (status === "COMPLETED") {
      b.replaceChildren(el("strong", { text: "Payment received: you are subscribed. Enjoy watching!" }));
      notify("Payment received: you are subscribed.");
      stop();
      if (location.hash.startsWith("#/plans")) plans().catch(() => {});
      return;
    }
    if (["CANCELLED", "REFUNDED", "REFUND_FAILED"].includes(status)) {
      b.replaceChildren(el("strong", { text: `Order ${status.toLowerCase()}` }), d.order.reason ? " — " + d.order.reason : "");
      notify(`Your order ended ${status.toLowerCase()}.`, "error");
      stop();
      return;
    }
    const payURL = safeURL(d.payment && d.payment.redirectUrl);
    b.replaceChildren(el("span", { text: `Order ${id}: ${status}, waiting for the payment… ` }),
      payURL ? el("a", { href: payURL, text: "Open the payment page" }) : null);
    setTimeout(tick, 2000);
  };
  const stop = () => { sessionStorage.removeItem(ORDER_KEY); polling = null; };
  tick();
}

route();
