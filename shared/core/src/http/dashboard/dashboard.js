// CSQ staff dashboard: reads /v1/org and /v1/stats (drilling down the org tree)
// and draws SVG charts. The person signs in with a code mailed to them; the
// session lives in an HttpOnly cookie the page never sees, and the page keeps
// only the session's CSRF token, in memory, for its writes. Every value reaches
// the page through textContent or SVG attributes, never as markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const LEVEL_COLOURS = ["#b3261e", "#e8710a", "#9aa0a6", "#7cb342", "#1e8e3e"];
const $ = (id) => document.getElementById(id);

// One language at a time, Vietnamese first: every label is written "vi / en"
// once, and the reader's choice (a cookie, not Web Storage) picks its half.
let lang = (document.cookie.match(/(?:^|; )csq_lang=(vi|en)/) || [])[1] || "vi";

/// The chosen half of a "vi / en" label.
function tr(both) {
  const at = both.indexOf(" / ");
  if (at < 0) return both;
  return lang === "en" ? both.slice(at + 3) : both.slice(0, at);
}

/// The page's own labels, kept whole so the language can change back.
const ORIGINALS = new Map();

function translatePage() {
  document.documentElement.lang = lang;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!ORIGINALS.has(n) && n.nodeValue.includes(" / ")) ORIGINALS.set(n, n.nodeValue);
  }
  for (const e of document.querySelectorAll("[placeholder], [aria-label]")) {
    for (const a of ["placeholder", "aria-label"]) {
      const v = e.getAttribute(a);
      if (v && v.includes(" / ")) ORIGINALS.set([e, a], v);
    }
  }
  for (const [n, whole] of ORIGINALS) {
    if (Array.isArray(n)) n[0].setAttribute(n[1], tr(whole));
    else n.nodeValue = tr(whole);
  }
  $("lang").value = lang;
}

/// Whole numbers in the reader's locale (1.234 in Vietnamese, 1,234 in English).
function num(v) { return Number.isInteger(v) ? v.toLocaleString(locale()) : v; }

function locale() { return lang === "en" ? "en-GB" : "vi-VN"; }

/// A calendar day (YYYY-MM-DD) in the reader's locale: 07/12/2026, 7 Dec 2026.
function dateText(d) {
  if (!d) return "—";
  const opts = lang === "en" ? { dateStyle: "medium" } : { day: "2-digit", month: "2-digit", year: "numeric" };
  return new Intl.DateTimeFormat(locale(), Object.assign(opts, { timeZone: "UTC" })).format(new Date(d + "T00:00:00Z"));
}

/// A day of a chart's axis, short: 07/12, 7 Dec.
function shortDate(d) {
  const opts = lang === "en" ? { day: "numeric", month: "short" } : { day: "2-digit", month: "2-digit" };
  return new Intl.DateTimeFormat(locale(), Object.assign(opts, { timeZone: "UTC" })).format(new Date(d + "T00:00:00Z"));
}

/// A month (YYYY-MM): 12/2026, Dec 2026.
function monthText(m) {
  const opts = lang === "en" ? { month: "short", year: "numeric" } : { month: "2-digit", year: "numeric" };
  return new Intl.DateTimeFormat(locale(), Object.assign(opts, { timeZone: "UTC" })).format(new Date(m + "-01T00:00:00Z"));
}

/// An instant as Vietnamese local time (UTC+7, no daylight saving), in the
/// reader's locale: 10:44 07/12/2026, 7 Dec 2026, 10:44.
function when(t) {
  if (!t) return "—";
  const opts = lang === "en" ? { dateStyle: "medium", timeStyle: "short" }
    : { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(locale(), Object.assign(opts, { timeZone: "Asia/Ho_Chi_Minh" })).format(new Date(t));
}

function setLanguage(next) {
  lang = next === "en" ? "en" : "vi";
  document.cookie = "csq_lang=" + lang + "; Path=/; SameSite=Strict; Max-Age=31536000";
  translatePage();
  // The same view, in the other language.
  if (session) start(currentView);
}

/// The signed-in session as /auth/session gives it (email, roles, CSRF token); null: signed out.
let session = null;
/// How this host signs staff in (/auth/config): "code" by email, or "oidc" at a provider.
let signInConfig = { method: "code" };
/// The identity provider's ID token (oidc): in this page's memory only, gone on reload.
let idToken = null;

/// The role this tab acts in (a code of session.roles); the widest by default.
function activeRole() {
  if (!session || !session.roles.length) return null;
  return session.roles.find((r) => r.code === $("role").value) || session.roles[0];
}

function headers(write) {
  const h = {};
  if (idToken) h.Authorization = "Bearer " + idToken;
  const role = activeRole();
  if (role) h["X-CSQ-Role"] = role.code;
  if (write && session) h["X-CSRF-Token"] = session.csrf;
  return h;
}

async function api(path) {
  const res = await fetch(path, { headers: headers(false), credentials: "same-origin" });
  if (res.status === 401) { showSignIn(); throw new Error(tr("Phiên đăng nhập đã hết / The session ended: sign in again")); }
  if (!res.ok) {
    let msg = res.status + "";
    try { const body = await res.json(); msg = (body.error && body.error.message) || msg; } catch (_) { /* not JSON */ }
    throw new Error(msg);
  }
  return res;
}

function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

/// The Vietnamese calendar day (UTC+7, no daylight saving) of an instant, as
/// the server keys its days: between 00:00 and 07:00 in Vietnam the UTC date
/// is still yesterday's, and the console asked for the wrong day.
function isoDay(d) { return new Date(d.getTime() + 7 * 3600000).toISOString().slice(0, 10); }

/// Where the console is: "signed-out", "loading" or "ready" (for the page
/// checks, which wait for it instead of guessing how long a view takes).
function setState(state) { document.body.dataset.state = state; }

function showSignIn() {
  session = null;
  setState("signed-out");
  $("signin").hidden = false; $("controls").hidden = true;
  for (const ids of Object.values(VIEWS)) for (const id of ids) $(id).hidden = true;
}

// One view at a time, each loaded when first opened; a role opens on its
// home (the session says which), a deep link to a case on the cases. A unit's
// head opens on the unit: its figures above its cases.
const VIEWS = {
  cases: ["cases"], figures: ["view-figures"], unit: ["view-figures", "cases"],
  leadership: ["leadership"], settings: ["settings"], me: ["me"], watch: ["watch"],
};
const HOMES = { leadership: "leadership", figures: "unit", queue: "cases", misconduct: "cases", own_page: "me" };
let loadedViews = new Set();
let currentView = null;

async function showView(name) {
  setState("loading");
  try { await openView(name); } finally { setState("ready"); }
}

async function openView(name) {
  currentView = name;
  const shown = VIEWS[name];
  for (const ids of Object.values(VIEWS)) for (const id of ids) $(id).hidden = !shown.includes(id);
  for (const b of document.querySelectorAll("nav.views button")) b.setAttribute("aria-current", b.dataset.view === name ? "page" : "false");
  for (const id of shown) {
    if (loadedViews.has(id)) continue;
    loadedViews.add(id);
    if (id === "view-figures") await refresh();
    else if (id === "leadership") await loadLeadership();
    else if (id === "cases") await listCases();
    else if (id === "settings") await loadSettings();
    else if (id === "me") await showMe();
    else if (id === "watch") await listWatch();
  }
}

async function signOut() {
  if (session && !idToken) {
    await fetch("/auth/session", { method: "DELETE", headers: headers(true), credentials: "same-origin" });
  }
  idToken = null;
  showSignIn();
  $("code-form").hidden = false; $("session-form").hidden = true; $("signin-note").textContent = "";
}

async function sendCode(e) {
  e.preventDefault();
  const res = await fetch("/auth/code", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: $("signin-email").value.trim() }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) { $("signin-note").textContent = (body.error && body.error.message) || res.status + ""; return; }
  $("signin-note").textContent = body.message;
  $("code-form").hidden = true; $("session-form").hidden = false; $("signin-code").focus();
}

async function useCode(e) {
  e.preventDefault();
  const res = await fetch("/auth/session", {
    method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
    body: JSON.stringify({ email: $("signin-email").value.trim(), code: $("signin-code").value.trim() }),
  });
  const body = await res.json().catch(() => ({}));
  $("signin-code").value = "";
  if (!res.ok) { $("signin-note").textContent = (body.error && body.error.message) || res.status + ""; return; }
  session = body;
  start();
}

/// The session this browser already has, if any.
async function resume() {
  try { signInConfig = await (await fetch("/auth/config")).json(); } catch (_) { /* the code by email */ }
  if (signInConfig.method === "oidc") return resumeOidc();
  const res = await fetch("/auth/session", { credentials: "same-origin" });
  if (res.status !== 200) return showSignIn();
  session = await res.json();
  start();
}

// Signing in at an OpenID provider: the authorization code flow with PKCE, this
// page being a public client. The verifier waits in sessionStorage only across
// the redirect (it is not a token, and is removed on return); the ID token
// stays in memory.
function b64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function providerEndpoints() {
  const issuer = signInConfig.issuer.replace(/\/$/, "");
  return (await fetch(issuer + "/.well-known/openid-configuration")).json();
}

async function startOidc() {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("csq-pkce", JSON.stringify({ verifier, state, hash: location.hash }));
  const p = await providerEndpoints();
  location.assign(p.authorization_endpoint + "?" + new URLSearchParams({
    response_type: "code", client_id: signInConfig.client_id, redirect_uri: location.origin + "/dashboard",
    scope: "openid email", code_challenge: challenge, code_challenge_method: "S256", state,
  }));
}

async function resumeOidc() {
  $("code-form").hidden = true; $("session-form").hidden = true; $("oidc-form").hidden = false;
  const q = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem("csq-pkce") || "null");
  sessionStorage.removeItem("csq-pkce");
  if (!q.get("code") || !pending || q.get("state") !== pending.state) return showSignIn();
  history.replaceState(null, "", "/dashboard" + (pending.hash || ""));
  const p = await providerEndpoints();
  const res = await fetch(p.token_endpoint, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: q.get("code"), redirect_uri: location.origin + "/dashboard",
      client_id: signInConfig.client_id, code_verifier: pending.verifier,
    }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || !body.id_token) { showSignIn(); $("signin-note").textContent = body.error_description || body.error || res.status + ""; return; }
  idToken = body.id_token;
  const me = await fetch("/v1/session", { headers: headers(false) });
  if (!me.ok) { showSignIn(); $("signin-note").textContent = ((await me.json().catch(() => ({}))).error || {}).message || me.status + ""; return; }
  session = await me.json();
  start();
}

async function loadUnits() {
  const select = $("unit");
  select.replaceChildren();
  try {
    const org = await (await api("/v1/org")).json();
    const children = {};
    for (const u of org.units) (children[u.parent || ""] = children[u.parent || ""] || []).push(u);
    const walk = (parent, depth) => {
      for (const u of children[parent] || []) {
        const label = "\u00a0\u00a0".repeat(depth) + u.name + " (" + u.code + ")" + (u.retired || u.successor ? " — " + tr("ngừng / retired") : "");
        select.append(el("option", label, { value: u.code }));
        if (depth < 16) walk(u.code, depth + 1);
      }
    };
    walk("", 0);
    const role = activeRole();
    if (role && role.unit) select.value = role.unit;
  } catch (e) { select.append(el("option", tr("Toàn Cục / Department"), { value: "department" })); }
}

function chosenUnit() { return $("unit-code").value.trim() || $("unit").value; }

function isTreeUnit(unit) { return !unit.includes(":") || unit.startsWith("unit:"); }

function query(withChildren) {
  const unit = chosenUnit();
  const p = new URLSearchParams({ unit, from: $("from").value, to: $("to").value });
  if ($("predecessors").checked) p.set("include_predecessors", "true");
  if (withChildren && isTreeUnit(unit)) p.set("children", "true");
  return p.toString();
}

function drillTo(code) {
  $("unit-code").value = "";
  $("unit").value = code;
  refresh();
}

function renderTree(body) {
  const crumbs = $("crumbs");
  crumbs.replaceChildren();
  body.path.forEach((u, i) => {
    if (i) crumbs.append(el("span", " › "));
    const a = el("a", u.name, { href: "#", title: u.code });
    a.addEventListener("click", (e) => { e.preventDefault(); drillTo(u.code); });
    crumbs.append(i === body.path.length - 1 ? el("strong", u.name) : a);
  });
  $("merged-note").textContent = body.predecessors.length
    ? tr("Gồm số liệu của đơn vị đã sáp nhập / Including merged units") + ": " + body.predecessors.join(", ")
    : "";
  const kids = body.children || [];
  $("drill").hidden = !kids.length;
  const table = $("children");
  const hr = el("tr");
  [tr("Đơn vị / Unit"), tr("Loại / Kind"), tr("Đánh giá / Ratings"), tr("Hài lòng / Satisfied"), tr("TB / Avg"), tr("Phát hành / Issued"), tr("Phản ánh / Complaints")].forEach((h) => hr.append(el("th", h)));
  table.replaceChildren(hr);
  for (const c of kids) {
    const row = el("tr", undefined, { class: "clickable" });
    const name = el("a", c.unit.name + (c.unit.active ? "" : " (" + tr("ngừng / retired") + ")"), { href: "#", title: c.unit.code });
    name.addEventListener("click", (e) => { e.preventDefault(); drillTo(c.unit.code); });
    const td = el("td"); td.append(name); row.append(td);
    const t = c.totals;
    [c.unit.kind, t.ratings, pct(t.satisfied_share), t.average === null ? "—" : t.average.toFixed(2), t.forms_issued, t.complaints_opened]
      .forEach((v) => row.append(el("td", String(num(v)))));
    table.append(row);
  }
}

/// A chart's frame: an image with a text alternative that says what it shows.
function frame(width, height, label) {
  const s = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": label });
  const t = svg("title"); t.textContent = label; s.append(t);
  return s;
}

function lineChart(days, key, max, format, label) {
  const w = 700, h = 200, pad = 30;
  const s = frame(w, h + 20, label);
  const x = (i) => pad + (days.length <= 1 ? 0 : (i * (w - 2 * pad)) / (days.length - 1));
  const y = (v) => h - (v / max) * (h - 20);
  for (let g = 0; g <= 5; g++) {
    const v = (max * g) / 5;
    s.append(svg("line", { x1: pad, x2: w - pad, y1: y(v), y2: y(v), stroke: "#e0e0e0" }));
    const t = svg("text", { x: 2, y: y(v) + 4, "font-size": 10, fill: "#5f6368" }); t.textContent = format(v); s.append(t);
  }
  const pts = days.map((d, i) => [x(i), d[key]]).filter(([, v]) => v !== null && v !== undefined);
  s.append(svg("polyline", { points: pts.map(([px, v]) => px + "," + y(v)).join(" "), fill: "none", stroke: "#0b5394", "stroke-width": 2 }));
  for (const [px, v] of pts) {
    const c = svg("circle", { cx: px, cy: y(v), r: 3, fill: "#0b5394" });
    const tip = svg("title"); tip.textContent = format(v); c.append(tip); s.append(c);
  }
  days.forEach((d, i) => {
    if (days.length < 12 || i % Math.ceil(days.length / 10) === 0) {
      const t = svg("text", { x: x(i) - 14, y: h + 15, "font-size": 10, fill: "#5f6368" }); t.textContent = shortDate(d.date); s.append(t);
    }
  });
  return s;
}

function stackedBars(days, series, colours, label) {
  const w = 700, h = 200, pad = 30;
  const s = frame(w, h + 20, label);
  const totals = days.map((d) => series.reduce((a, f) => a + f(d), 0));
  const max = Math.max(1, ...totals);
  const bw = Math.max(2, (w - 2 * pad) / Math.max(1, days.length) - 2);
  days.forEach((d, i) => {
    let top = h;
    series.forEach((f, k) => {
      const v = f(d); if (!v) return;
      const bh = (v / max) * (h - 20);
      top -= bh;
      const r = svg("rect", { x: pad + i * (bw + 2), y: top, width: bw, height: bh, fill: colours[k] });
      const tip = svg("title"); tip.textContent = dateText(d.date) + ": " + v; r.append(tip); s.append(r);
    });
  });
  const t = svg("text", { x: 2, y: 12, "font-size": 10, fill: "#5f6368" }); t.textContent = "max " + max; s.append(t);
  return s;
}

function sum(days, f) { return days.reduce((a, d) => a + f(d), 0); }
function pct(v) {
  if (v === null || isNaN(v)) return "—";
  return (v * 100).toLocaleString(lang === "en" ? "en-GB" : "vi-VN", { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + "%";
}

function render(days) {
  const ratings = sum(days, (d) => d.ratings);
  const weighted = sum(days, (d) => d.level_counts.reduce((a, n, i) => a + n * (i + 1), 0));
  const satisfied = sum(days, (d) => d.level_counts[3] + d.level_counts[4]);
  const issued = sum(days, (d) => d.forms_issued);
  const tiles = [
    [tr("Lượt đánh giá / Ratings"), ratings],
    [tr("Điểm TB / Average"), ratings ? (weighted / ratings).toFixed(2) : "—"],
    [tr("Hài lòng / Satisfied"), pct(ratings ? satisfied / ratings : null)],
    [tr("Phiếu phát hành / Forms issued"), issued],
    [tr("Phản ánh mới / Complaints opened"), sum(days, (d) => d.complaints_opened)],
    [tr("Đã xử lý / Closed"), sum(days, (d) => d.complaints_closed)],
  ];
  $("tiles").replaceChildren(...tiles.map(([k, v]) => { const t = el("div", undefined, { class: "tile card" }); t.append(el("span", k, { class: "muted" }), el("strong", String(num(v)))); return t; }));
  const avg = days.filter((d) => d.average !== null);
  $("chart-average").replaceChildren(lineChart(days, "average", 5, (v) => v.toFixed(1),
    tr("Điểm trung bình theo ngày / Average level by day") + ": " + (avg.length ? avg.map((d) => dateText(d.date) + " " + d.average.toFixed(2)).join(", ") : tr("không có / none"))));
  $("chart-levels").replaceChildren(stackedBars(days, [0, 1, 2, 3, 4].map((i) => (d) => d.level_counts[i]), LEVEL_COLOURS,
    tr("Số đánh giá theo mức 1–5 / Ratings by level 1–5") + ": " + [0, 1, 2, 3, 4].map((i) => sum(days, (d) => d.level_counts[i])).join(", ")));
  $("legend").textContent = tr("1 Rất không hài lòng · 2 Không hài lòng · 3 Bình thường · 4 Hài lòng · 5 Rất hài lòng (đỏ → xanh) / 1 Very dissatisfied · 2 Dissatisfied · 3 Neutral · 4 Satisfied · 5 Very satisfied (red → green)");
  $("chart-complaints").replaceChildren(stackedBars(days, [(d) => d.complaints_opened, (d) => d.complaints_closed, (d) => d.complaints_overdue], ["#e8710a", "#1e8e3e", "#b3261e"],
    tr("Phản ánh / Complaints") + ": " + tr("mới / opened") + " " + sum(days, (d) => d.complaints_opened) + ", " + tr("đã xử lý / closed") + " " + sum(days, (d) => d.complaints_closed) + ", " + tr("quá hạn / overdue") + " " + sum(days, (d) => d.complaints_overdue)));
  const head = [tr("Ngày / Date"), tr("Đánh giá / Ratings"), tr("TB / Avg"), tr("Hài lòng / Satisfied"), tr("Phát hành / Issued"), tr("Đã gửi / Submitted"), tr("Phản ánh / Complaints"), tr("Quá hạn / Overdue")];
  const table = $("table");
  table.replaceChildren();
  const hr = el("tr"); head.forEach((h) => hr.append(el("th", h))); table.append(hr);
  for (const d of days) {
    const row = el("tr");
    [dateText(d.date), d.ratings, d.average === null ? "—" : d.average.toFixed(2), pct(d.satisfied_share), d.forms_issued, d.forms_submitted, d.complaints_opened, d.complaints_overdue]
      .forEach((v) => row.append(el("td", String(num(v)))));
    table.append(row);
  }
}

async function refresh() {
  $("error").textContent = "";
  try {
    const body = await (await api("/v1/stats?" + query(true))).json();
    render(body.days);
    renderTree(body);
  } catch (e) { $("error").textContent = e.message; }
}

async function downloadCsv() {
  try {
    const blob = await (await api("/v1/stats.csv?" + query(false))).blob();
    const a = el("a", undefined, { href: URL.createObjectURL(blob), download: "csq-" + chosenUnit().replace(/[^A-Za-z0-9]/g, "_") + ".csv" });
    document.body.append(a); a.click(); a.remove();
  } catch (e) { $("error").textContent = e.message; }
}

const LEVELS = { 1: "Rất không hài lòng / Very dissatisfied", 2: "Không hài lòng / Dissatisfied", 3: "Bình thường / Neutral", 4: "Hài lòng / Satisfied", 5: "Rất hài lòng / Very satisfied" };
let currentCase = null;
let reasonLabels = {};

async function loadReasons() {
  try {
    for (const r of await (await api("/v1/reasons")).json()) reasonLabels[r.code] = lang === "en" ? r.en : r.vi;
  } catch (_) { /* codes are shown instead */ }
}

function subjectName(s) {
  return s.label || s.officer_name || s.unit_name || s.team || s.stage || s.branch;
}

const ACTION_LABELS = {
  verify: "Tiếp nhận, xác minh / Acknowledge and verify", transfer: "Chuyển đơn vị / Transfer",
  resolve: "Kết luận, trả lời / Resolve and answer", dismiss: "Không có cơ sở / Dismiss", note: "Ghi chú / Note",
};
const KIND_LABELS = { complaint: "Phản ánh / Complaint", suggestion: "Kiến nghị / Suggestion" };
const STATUS_LABELS = {
  open: "Mới / Open", verifying: "Đang xác minh / Verifying",
  resolved: "Đã xử lý / Resolved", dismissed: "Không có cơ sở / Dismissed",
};
const ROLE_LABELS = {
  department: "Lãnh đạo Cục / Department", unit_head: "Lãnh đạo, xử lý đơn vị / Unit",
  inspection: "Thanh tra / Inspection", officer: "Công chức / Officer",
};
let currentVersion = null;
let caseRules = null;

async function loadCaseRules() {
  try {
    caseRules = (await (await api("/v1/case-rules")).json()).rules;
    const fill = (id, list) => $(id).replaceChildren(el("option", "—", { value: "" }),
      ...list.map((c) => el("option", lang === "en" && c.name_en ? c.name_en : c.name, { value: c.code })));
    fill("case-violation", caseRules.violation_categories);
    fill("case-measure", caseRules.measures);
  } catch (_) { /* the finding fields stay empty; the API explains on submit */ }
}


async function listCases() {
  $("error").textContent = "";
  const p = new URLSearchParams();
  if ($("case-unit").value.trim()) p.set("unit", $("case-unit").value.trim());
  if ($("case-status").value) p.set("status", $("case-status").value);
  if ($("case-kind").value) p.set("kind", $("case-kind").value);
  if ($("case-overdue").checked) p.set("overdue", "true");
  if ($("case-due-within").value !== "") p.set("due_within_days", $("case-due-within").value);
  if ($("case-subtree").checked) p.set("subtree", "true");
  try {
    const body = await (await api("/v1/cases?" + p.toString())).json();
    const table = $("case-list");
    const head = el("tr");
    [tr("Tờ khai / Declaration"), tr("Loại / Kind"), tr("Đơn vị / Office"), tr("Đơn vị xử lý / Handling unit"), tr("Trạng thái / Status"), tr("Hạn / Due")].forEach((h) => head.append(el("th", h)));
    table.replaceChildren(head);
    const now = new Date().toISOString();
    // A handler's queue: overdue first, then due soonest.
    const isLate = (c) => !["resolved", "dismissed"].includes(c.status) && c.due_at < now;
    body.items.sort((a, b) => (isLate(b) - isLate(a)) || a.due_at.localeCompare(b.due_at));
    for (const c of body.items) {
      const row = el("tr", undefined, { class: "clickable" });
      const open = el("a", c.complaint.declaration_number, { href: "#case=" + encodeURIComponent(c.id) });
      const first = el("td"); first.append(open); row.append(first);
      const path = c.complaint.office_path || [];
      const office = path.length ? path[path.length - 1].name : c.complaint.branch;
      const closed = c.status === "resolved" || c.status === "dismissed";
      const late = !closed && (c.due_at < now || (!c.acknowledged_at && c.acknowledge_due_at && c.acknowledge_due_at < now));
      [tr(KIND_LABELS[c.kind] || c.kind), office, c.assignment.unit, tr(STATUS_LABELS[c.status] || c.status), (lang === "en" ? c.due_by.en : c.due_by.vi) + (late ? " · " + tr("QUÁ HẠN / OVERDUE") : "")]
        .forEach((v) => row.append(el("td", v)));
      table.append(row);
    }
    if (!body.items.length) {
      const row = el("tr");
      row.append(el("td", tr("Không có hồ sơ / No cases")));
      table.append(row);
    }
  } catch (e) { $("error").textContent = e.message; }
}

function renderCase(c, events, overdue) {
  currentCase = c.id;
  currentVersion = c.version;
  $("case-title").textContent = tr(KIND_LABELS[c.kind] || c.kind) + " · " + tr("Tờ khai / Declaration") + " " + c.complaint.declaration_number +
    (c.complaint.business ? " — " + c.complaint.business.name : "") + (c.anonymised ? " · " + tr("đã ẩn danh / anonymised") : "");
  $("case-meta").textContent = c.assignment.name + " (" + c.assignment.unit + ") · " + tr(STATUS_LABELS[c.status] || c.status) + (overdue ? " · " + tr("QUÁ HẠN / OVERDUE") : "") + " · " + c.assignment.rule;
  const by = (d) => d ? (lang === "en" ? d.en : d.vi) : "—";
  $("case-deadlines").textContent = tr("Hạn tiếp nhận / Acknowledge") + ": " + by(c.acknowledge_by) +
    (c.acknowledged_at ? " (" + tr("đã tiếp nhận / acknowledged") + " " + when(c.acknowledged_at) + ")" : "") + " · " + tr("Hạn xử lý / Resolve") + ": " + by(c.due_by);
  $("case-subjects").replaceChildren(...c.complaint.subjects.map((s) => {
    const li = el("li");
    li.append(el("strong", subjectName(s.subject) + ": " + s.level + " " + tr(LEVELS[s.level] || "")));
    if (s.reasons.length) li.append(el("span", " · " + s.reasons.map((r) => reasonLabels[r] || r).join(", ")));
    if (s.comment) { li.append(el("br")); li.append(el("em", s.comment)); }
    return li;
  }));
  $("case-suggestion").textContent = c.complaint.suggestion ? tr("Kiến nghị / Suggestion") + ": " + c.complaint.suggestion : "";
  const contact = c.complaint.contact;
  $("case-contact").textContent = contact ? tr("Liên hệ / Contact") + ": " + contact.name + " — " + contact.phone : "";
  const f = c.conclusion;
  $("case-finding").textContent = c.finding ? tr("Kết quả / Outcome") + ": " + c.finding +
    (f ? " · " + (f.upheld ? tr("Đúng / Upheld") : tr("Không đúng / Not upheld")) + (f.officers.length ? " · " + f.officers.join(", ") : "") +
      (f.violation_category ? " · " + f.violation_category : "") + (f.measure ? " · " + f.measure : "") : "") : "";
  const r = c.response;
  const said = [];
  if (r.accepted_at) said.push(tr("đồng ý / accepted") + " " + when(r.accepted_at));
  if (r.handling_rating) said.push(tr("đánh giá việc giải quyết / handling rated") + " " + r.handling_rating + "/5");
  if (r.appealed_at) said.push(tr("khiếu nại / appealed") + " " + when(r.appealed_at) + " (" + r.appealed_from + "): " + r.appeal_reason);
  $("case-response").textContent = said.length ? tr("Doanh nghiệp / Business") + ": " + said.join(" · ") : "";
  $("case-events").replaceChildren(...events.map((e) => el("li", when(e.at) + " · " + e.actor + " · " + e.action + (e.note ? " — " + e.note : ""))));
  const kinds = $("case-action-kind");
  kinds.replaceChildren(...c.allowed_actions.map((a) => el("option", tr(ACTION_LABELS[a] || a), { value: a })));
  $("case-officers").replaceChildren(...c.complaint.handling_officers.map((o) => {
    const l = el("label", undefined, { class: "check" });
    const box = el("input", undefined, { type: "checkbox", value: o, name: "case-officer" });
    l.append(box, document.createTextNode(" " + o));
    return l;
  }));
  $("case-action").dataset.kind = c.kind;
  $("case-action").hidden = c.allowed_actions.length === 0;
  showActionFields();
  $("case-detail").hidden = false;
}

function showActionFields() {
  const a = $("case-action-kind").value;
  $("case-to-field").hidden = a !== "transfer";
  $("case-finding-fields").hidden = !(a === "resolve" && $("case-action").dataset.kind === "complaint");
}

async function showCase(id) {
  try {
    const d = await (await api("/v1/cases/" + encodeURIComponent(id))).json();
    renderCase(d.case, d.events, d.overdue);
  } catch (e) { $("error").textContent = e.message; }
}

async function actOnCase(ev) {
  ev.preventDefault();
  if (!currentCase) return;
  $("error").textContent = "";
  const action = $("case-action-kind").value;
  const body = { action, note: $("case-note").value, version: currentVersion };
  if (action === "transfer") body.to = $("case-to").value.trim();
  if (action === "resolve" && $("case-action").dataset.kind === "complaint") {
    body.upheld = $("case-upheld").checked;
    body.officers = [...document.querySelectorAll("input[name=case-officer]:checked")].map((b) => b.value);
    if ($("case-violation").value) body.violation_category = $("case-violation").value;
    if ($("case-measure").value) body.measure = $("case-measure").value;
  }
  try {
    const res = await fetch("/v1/cases/" + encodeURIComponent(currentCase) + "/actions", {
      method: "POST",
      headers: Object.assign(headers(true), { "Content-Type": "application/json" }),
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    const reply = await res.json();
    if (!res.ok) {
      // Someone else changed it: show the case as it stands, and say so.
      if (reply.current) await showCase(currentCase);
      throw new Error(reply.error ? reply.error.message : res.status + "");
    }
    $("case-note").value = "";
    $("case-to").value = "";
    await showCase(currentCase);
    await listCases();
  } catch (e) { $("error").textContent = e.message; }
}

/// The case a `#case=ID` link names (from an email, or a row of the list).
async function caseFromHash() {
  if (!session) return;
  setState("loading");
  try { await openCase(); } finally { setState("ready"); }
}

async function openCase() {
  const m = location.hash.match(/^#case=(.+)$/);
  if (!m) return;
  await openView("cases");
  await showCase(decodeURIComponent(m[1]));
}

/// An officer's own page: figures per month (months of at least k ratings) and
/// comments, as /v1/me gives them; nothing about businesses.
async function showMe() {
  try {
    const me = await (await api("/v1/me")).json();
    $("me-note").textContent = tr("Công chức / Officer") + " " + me.officer_id + " · " + dateText(me.from) + " → " + dateText(me.to) +
      " · " + (lang === "en" ? "Only months with at least " + me.min_ratings + " ratings are shown."
        : "Chỉ hiện tháng có ít nhất " + me.min_ratings + " lượt đánh giá.");
    const table = $("me-months");
    const hr = el("tr");
    [tr("Tháng / Month"), tr("Đánh giá / Ratings"), tr("TB / Avg"), tr("Hài lòng / Satisfied")].forEach((h) => hr.append(el("th", h)));
    table.replaceChildren(hr);
    for (const m of me.months) {
      const row = el("tr");
      const f = m.figures;
      const cells = f ? [monthText(m.month), f.ratings, f.average === null ? "—" : f.average.toFixed(2), pct(f.satisfied_share)]
        : [monthText(m.month), "< " + me.min_ratings, "—", "—"];
      cells.forEach((v) => row.append(el("td", String(num(v)))));
      table.append(row);
    }
    $("me-comments").replaceChildren(...me.comments.map((c) => el("li", monthText(c.month) + " · " + c.level + " " + tr(LEVELS[c.level] || "") + " · " + c.comment)));
  } catch (e) { $("me-note").textContent = e.message; }
}

/// How a business reached its form, as the figures name it.
const CHANNELS = {
  email: "Liên kết trong thư / Email link", email_button: "Nút mức điểm trong thư / Email level button",
  in_app: "Phần mềm khai báo / Declaration software", kiosk: "Máy tại quầy / Counter tablet",
};

const LANES = { green: "Luồng xanh / Green lane", yellow: "Luồng vàng / Yellow lane", red: "Luồng đỏ / Red lane" };

/// The groups of satisfaction against time, as the report names them.
const TIME_GROUPS = {
  within_limit: "Trong thời hạn / Within the limit", over_limit: "Quá thời hạn / Over the limit",
  under_1h: "Dưới 1 giờ / Under 1 h", "1h_to_2h": "1–2 giờ / 1–2 h", "2h_to_4h": "2–4 giờ / 2–4 h",
  "4h_to_8h": "4–8 giờ / 4–8 h", "8h_or_more": "Từ 8 giờ / 8 h or more",
};

/// Invitation states in the order the leadership reads them.
const INVITATION_STATES = [
  ["sent", "Đã gửi thư / Emailed"], ["capped", "Giới hạn mỗi doanh nghiệp / Capped"],
  ["sampled_out", "Không được chọn mẫu / Sampled out"], ["suppressed", "Từ chối nhận thư / Suppressed"],
  ["rejected", "Địa chỉ bị từ chối / Rejected"], ["pending", "Đang chờ gửi / Pending"],
];

const PERIOD_ROWS = [
  ["Lượt đánh giá / Ratings", (f) => f.totals.ratings],
  ["Hài lòng / Satisfied", (f) => pct(f.totals.satisfied_share)],
  ["Điểm TB / Average", (f) => f.totals.average === null ? "—" : f.totals.average.toFixed(2)],
  ["Phiếu phát hành / Forms issued", (f) => f.cohort.forms_issued],
  ["Đã được đánh giá / Of those rated", (f) => f.cohort.forms_rated],
  ["Tỷ lệ phản hồi (theo ngày phát hành) / Response rate (by issue day)", (f) => pct(f.cohort.response_rate)],
  ["Thời gian đến khi đánh giá (trung vị, giờ) / Median hours to rate", (f) => f.cohort.median_minutes_to_rate === null ? "—" : (f.cohort.median_minutes_to_rate / 60).toFixed(1)],
  ["Phản ánh mới / Complaints opened", (f) => f.totals.complaints_opened],
  ["Đã xử lý / Closed", (f) => f.totals.complaints_closed],
];

function reasonsChart(reasons) {
  const top = reasons.slice().sort((a, b) => b.total - a.total).slice(0, 10);
  const w = 700, rowH = 22, h = Math.max(1, top.length) * rowH + 10;
  const max = Math.max(1, ...top.map((r) => r.total));
  const label = tr("Lý do / Reasons") + ": " + (top.length ? top.map((r) => (reasonLabels[r.reason] || r.reason) + " " + r.total).join(", ") : tr("không có / none"));
  const s = frame(w, h, label);
  top.forEach((r, i) => {
    const y = 5 + i * rowH;
    const t = svg("text", { x: 0, y: y + 14, "font-size": 11, fill: "#1a1a1a" }); t.textContent = (reasonLabels[r.reason] || r.reason).slice(0, 40); s.append(t);
    s.append(svg("rect", { x: 300, y, width: (r.total / max) * 360, height: rowH - 6, fill: r.negative ? "#b3261e" : "#1e8e3e" }));
    const n = svg("text", { x: 305 + (r.total / max) * 360, y: y + 14, "font-size": 11, fill: "#1a1a1a" }); n.textContent = String(r.total); s.append(n);
  });
  return s;
}

/// Satisfied share per time group, a bar each; a group under k ratings has
/// no bar (its levels are withheld), only its label and "—".
function timeSatisfactionChart(groups) {
  const w = 700, rowH = 22, h = groups.length * rowH + 10;
  const label = tr("Hài lòng theo thời gian / Satisfaction against time") + ": " + groups.map((g) =>
    tr(TIME_GROUPS[g.group] || g.group) + " " + (g.shown ? pct(g.satisfied_share) : "—")).join(", ");
  const s = frame(w, h, label);
  groups.forEach((g, i) => {
    const y = 5 + i * rowH;
    const t = svg("text", { x: 0, y: y + 14, "font-size": 11, fill: "#1a1a1a" }); t.textContent = tr(TIME_GROUPS[g.group] || g.group); s.append(t);
    const sat = g.shown ? g.satisfied_share : null;
    if (sat !== null) s.append(svg("rect", { x: 300, y, width: sat * 360, height: rowH - 6, fill: g.group === "over_limit" ? "#b3261e" : "#1e8e3e", "data-group": g.group }));
    const n = svg("text", { x: 305 + (sat || 0) * 360, y: y + 14, "font-size": 11, fill: "#1a1a1a" });
    n.textContent = sat === null ? "—" : pct(sat) + " (" + g.ratings + ")"; s.append(n);
  });
  return s;
}

function fillTable(table, head, rows) {
  const hr = el("tr"); head.forEach((h) => hr.append(el("th", h, { scope: "col" })));
  table.replaceChildren(hr);
  for (const r of rows) { const row = el("tr"); r.forEach((v) => row.append(el("td", String(num(v))))); table.append(row); }
}

async function loadLeadership() {
  const unit = chosenUnit();
  const period = $("period").value, at = $("period-at").value;
  const q = "period=" + period + (at ? "&at=" + at : "");
  try {
    const r = await (await api("/v1/report?unit=" + encodeURIComponent(unit) + "&" + q)).json();
    const cur = r.current, prev = r.previous;
    fillTable($("period-table"), ["", dateText(cur.from) + " → " + dateText(cur.to), prev ? dateText(prev.from) + " → " + dateText(prev.to) : "—"],
      PERIOD_ROWS.map(([k, f]) => [tr(k), f(cur), prev ? f(prev) : "—"]));
    $("chart-reasons").replaceChildren(reasonsChart(r.reasons));
    const times = cur.service_times;
    const hours = (h) => h === null || h === undefined ? "—" : h.toLocaleString(locale(), { maximumFractionDigits: 1 });
    $("times-summary").textContent = times.stages_timed
      ? tr("Khâu có thời gian / Stages timed") + ": " + num(times.stages_timed)
        + " · " + tr("trung vị / median") + " " + hours(times.median_hours) + " h"
        + " · P90 " + hours(times.p90_hours) + " h"
        + " · " + tr("trong thời hạn / within the limit") + " " + pct(times.within_limit_share)
        + " · " + tr("yêu cầu bổ sung hồ sơ mỗi khâu / document requests per stage") + " "
        + (times.document_requests_per_stage === null ? "—"
          : times.document_requests_per_stage.toLocaleString(locale(), { maximumFractionDigits: 2 }))
        + " · " + tr("mỗi tờ khai / per declaration") + " "
        + (times.document_requests_per_declaration === null ? "—"
          : times.document_requests_per_declaration.toLocaleString(locale(), { maximumFractionDigits: 2 }))
      : tr("Chưa có thời gian từ hệ thống khai báo / No times from the declaration system yet");
    fillTable($("release-table"), [tr("Luồng / Lane"), tr("Tờ khai / Declarations"), tr("Trung vị (giờ) / Median (h)"), "P90 (h)"],
      times.release.map((r) => [tr(LANES[r.lane] || r.lane), r.declarations, hours(r.median_hours), hours(r.p90_hours)]));
    fillTable($("time-satisfaction-table"), [tr("Nhóm / Group"), tr("Lượt đánh giá / Ratings"), tr("Hài lòng / Satisfied"), tr("Điểm TB / Average")],
      times.satisfaction.map((g) => [tr(TIME_GROUPS[g.group] || g.group), g.ratings,
        g.shown ? pct(g.satisfied_share) : "—", g.shown ? g.average.toFixed(2) : "—"]));
    $("chart-time-satisfaction").replaceChildren(timeSatisfactionChart(times.satisfaction));
    const asked = cur.invitations || {};
    $("invitation-summary").textContent = INVITATION_STATES
      .filter(([code]) => asked[code]).map(([code, label]) => tr(label) + ": " + num(asked[code])).join(" · ") || tr("Chưa phát hành phiếu / No forms issued");
    fillTable($("channel-table"), [tr("Kênh / Channel"), tr("Phiếu gửi về / Forms submitted"), tr("Tỷ lệ phản hồi / Response rate"),
      tr("Lượt đánh giá / Ratings"), tr("Điểm TB / Average"), tr("Hài lòng / Satisfied")],
      cur.by_channel.map((c) => [tr(CHANNELS[c.channel] || c.channel), c.forms_submitted, pct(c.response_rate), c.ratings,
        c.shown ? c.average.toFixed(2) : "—", c.shown ? pct(c.satisfied_share) : "—"]));
  } catch (e) { $("error").textContent = e.message; }
  try {
    const level = $("rank-level").value;
    const within = isTreeUnit(unit) ? unit.replace(/^unit:/, "") : "";
    if (level && within && within !== "department") {
      const k = await (await api("/v1/rankings?level=" + encodeURIComponent(level) + "&within=" + encodeURIComponent(within) + "&" + q)).json();
      $("rank-method").textContent = k.method + " · " + tr("tối thiểu / minimum") + " " + k.min_ratings;
      fillTable($("rank-table"), [tr("Hạng / Rank"), tr("Đơn vị / Unit"), tr("Đánh giá / Ratings"), tr("Hài lòng / Satisfied"), tr("Khoảng tin cậy 95% / 95% interval")],
        k.items.map((i) => [i.rank === null ? tr("chưa đủ đánh giá / not enough ratings") : i.rank, i.name || i.key, i.ratings, pct(i.satisfied_share),
          i.lower === null ? "—" : pct(i.lower) + " – " + pct(i.upper)]));
    } else {
      $("rank-method").textContent = tr("Chọn một đơn vị có cấp dưới / Pick a unit with units below");
      $("rank-table").replaceChildren();
    }
  } catch (e) { $("rank-method").textContent = e.message; }
  try {
    const w = await (await api("/v1/warnings")).json();
    $("warn-note").textContent = w ? tr("Tuần đến / Week to") + " " + dateText(w.week_end) + " · " + tr("đã kiểm định / tested") + " " + w.tested + " · FDR " + w.false_discovery_rate : tr("Chưa có / None yet");
    $("warn-list").replaceChildren(...(w ? w.flags : []).map((f) => el("li", f.key + ": " +
      pct(f.recent_satisfied / f.recent_ratings) + " (" + f.recent_ratings + tr(") so với / vs") + " " + pct(f.baseline_satisfied / f.baseline_ratings) + " (" + f.baseline_ratings + "), p = " + f.p_value.toFixed(4))));
  } catch (e) { $("warn-note").textContent = e.message; }
  try {
    const p = await (await fetch("/public.json")).json();
    $("public-link").href = "/public?month=" + p.month;
    fillTable($("public-table"), [tr("Đơn vị / Unit"), tr("Đánh giá / Ratings"), tr("Hài lòng / Satisfied"), tr("Phản ánh / Complaints"), tr("Đã giải quyết / Resolved"), tr("Giờ xử lý (trung vị) / Median hours")],
      p.units.map((u) => [u.name, u.ratings ?? "—", pct(u.satisfied_share), u.complaints_received ?? "—", u.complaints_resolved ?? "—", u.median_handling_hours ?? "—"]));
  } catch (_) { /* the public report is optional here */ }
}

const WATCH_FOUND = {
  over_limit_against_its_past: "Quá thời hạn nhiều hơn trước / More stages over the limit than before",
  over_limit_against_the_office: "Quá thời hạn nhiều hơn doanh nghiệp khác / More stages over the limit than other businesses",
  slow_stages_against_its_past: "Chậm hơn trung vị nhiều hơn trước / More stages slower than the office's median than before",
  slow_stages_against_the_office: "Chậm hơn trung vị nhiều hơn doanh nghiệp khác / More stages slower than the median than other businesses",
  document_requests_against_its_past: "Yêu cầu bổ sung hồ sơ nhiều hơn trước / More document requests than before",
  document_requests_against_the_office: "Yêu cầu bổ sung hồ sơ nhiều hơn doanh nghiệp khác / More document requests than other businesses",
  lane_changes_against_its_past: "Chuyển luồng thủ công nhiều hơn trước / More lanes changed by hand than before",
  lane_changes_against_the_office: "Chuyển luồng thủ công nhiều hơn doanh nghiệp khác / More lanes changed by hand than other businesses",
};
const WATCH_STATUS = { open: "Mới / Open", verifying: "Đang xác minh / Verifying", resolved: "Đã kết luận / Resolved", dismissed: "Không có cơ sở / Dismissed" };
let currentWatch = null;

function share(n, of) { return of ? pct(n / of) + " (" + n + "/" + of + ")" : "—"; }

async function listWatch() {
  try {
    const r = await (await api("/v1/watch")).json();
    const table = $("watch-list");
    const head = el("tr");
    [tr("Tuần đến / Week to"), tr("Doanh nghiệp / Business"), tr("Đơn vị / Office"), tr("Theo dõi từ / Watched since"), tr("Phát hiện / Found"), tr("Trạng thái / Status")]
      .forEach((h) => head.append(el("th", h, { scope: "col" })));
    table.replaceChildren(head);
    for (const c of r.items) {
      const row = el("tr");
      const open = el("a", c.business_tax_code, { href: "#watch=" + c.id });
      open.addEventListener("click", (e) => { e.preventDefault(); showWatch(c.id); });
      const first = el("td"); first.append(open);
      row.append(el("td", dateText(c.raised_on)), first, el("td", c.office), el("td", dateText(c.watched_since)),
        el("td", String(c.found.length)), el("td", tr(WATCH_STATUS[c.status] || c.status)));
      table.append(row);
    }
    if (!r.items.length) {
      const none = el("tr"); none.append(el("td", tr("Chưa có cảnh báo / No flags"), { colspan: "6" })); table.append(none);
    }
  } catch (e) { $("error").textContent = e.message; }
}

async function showWatch(id) {
  try {
    const c = await (await api("/v1/watch/" + encodeURIComponent(id))).json();
    currentWatch = c.id;
    $("watch-detail").hidden = false;
    $("watch-title").textContent = c.business_tax_code + " · " + c.office + " · " + tr(WATCH_STATUS[c.status] || c.status);
    $("watch-found").textContent = c.found.map((f) => tr(WATCH_FOUND[f.comparison] || f.comparison) + " (p = " + f.p_value.toFixed(4) + ")").join("; ");
    const rows = [
      ["Khâu quá thời hạn / Stages over the limit", (x) => share(x.stages_with_limit - x.stages_within_limit, x.stages_with_limit)],
      ["Khâu chậm hơn trung vị / Stages slower than the median", (x) => share(x.stages_slower_than_office_median, x.stages_timed)],
      ["Khâu yêu cầu bổ sung hồ sơ / Stages asking for documents", (x) => share(x.stages_with_document_requests, x.stages_counting_document_requests)],
      ["Chuyển luồng thủ công / Lanes changed by hand", (x) => share(x.lanes_changed_by_hand, x.declarations_with_lane_facts)],
    ];
    fillTable($("watch-figures"), ["", tr("Trước phản ánh / Before"), tr("Sau phản ánh / Since"), tr("Doanh nghiệp khác / Other businesses")],
      rows.map(([label, f]) => [tr(label), f(c.before), f(c.after), f(c.office_others_after)]));
    $("watch-trail").replaceChildren(...c.trail.map((s) => el("li", when(s.at) + " · " + s.by + " · " + s.action + (s.note ? " — " + s.note : ""))));
    $("watch-action").hidden = c.status === "resolved" || c.status === "dismissed";
  } catch (e) { $("error").textContent = e.message; }
}

async function actOnWatch(ev) {
  ev.preventDefault();
  if (!currentWatch) return;
  $("error").textContent = "";
  try {
    const res = await fetch("/v1/watch/" + encodeURIComponent(currentWatch) + "/actions", {
      method: "POST",
      headers: Object.assign(headers(true), { "Content-Type": "application/json" }),
      credentials: "same-origin",
      body: JSON.stringify({ action: $("watch-action-kind").value, note: $("watch-note").value }),
    });
    const reply = await res.json();
    if (!res.ok) throw new Error(reply.errors ? reply.errors.map((x) => x.message).join("; ") : reply.error ? reply.error.message : res.status + "");
    $("watch-note").value = "";
    await showWatch(currentWatch);
    await listWatch();
  } catch (e) { $("error").textContent = e.message; }
}

async function loadKinds() {
  try {
    const org = await (await api("/v1/org")).json();
    const kinds = [...new Set(org.units.filter((u) => !u.retired).map((u) => u.kind))];
    $("rank-level").replaceChildren(...kinds.map((k) => el("option", k, { value: k })));
    if (kinds.includes("office")) $("rank-level").value = "office";
  } catch (_) { /* ranking stays empty */ }
}

/// The department's settings: the directory as it edits it (every problem shown
/// with the field to fix), and the audit log.
async function loadSettings() {
  await loadOrgDoc();
  await loadRulesDoc();
  await loadKiosks();
  await loadWebhooks();
  try {
    const to = new Date(), from = new Date(to.getTime() - 29 * 86400000);
    const log = await (await api("/v1/audit?from=" + isoDay(from) + "&to=" + isoDay(to) + "&limit=200")).json();
    const table = $("audit-table");
    const head = el("tr");
    [tr("Lúc / At"), tr("Ai / Who"), tr("Vai trò / Role"), tr("Việc / What"), tr("Bản ghi / Records")].forEach((h) => head.append(el("th", h)));
    table.replaceChildren(head);
    for (const e of log.items) {
      const row = el("tr");
      [when(e.at), e.who, e.role + (e.unit ? " " + e.unit : ""), e.what, String(e.records.length)].forEach((v) => row.append(el("td", v)));
      table.append(row);
    }
  } catch (e) { $("error").textContent = e.message; }
}

/// A JSON write with the session's CSRF token: the response and its body.
async function send(method, path, body) {
  const res = await fetch(path, {
    method, credentials: "same-origin",
    headers: Object.assign(headers(true), { "Content-Type": "application/json" }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) showSignIn();
  return { res, reply: res.status === 204 ? {} : await res.json().catch(() => ({})) };
}

/// The first problem of a refused write, as its reader should see it.
function problem(res, reply) {
  if (reply.errors && reply.errors.length) return reply.errors.map((e) => e.message).join("; ");
  return (reply.error && reply.error.message) || res.status + "";
}

const SUPPRESSION_REASONS = {
  opted_out: "doanh nghiệp từ chối nhận / the business opted out", bounced: "thư bị trả lại / mail bounced",
  complained: "bị báo là thư rác / marked as spam", staff: "do Cục đặt / set by the department",
};

/// The suppression list, one address at a time (it holds only keyed hashes).
async function suppression(e) {
  e.preventDefault();
  const act = (e.submitter && e.submitter.dataset.act) || "lookup";
  const address = $("suppression-address").value.trim();
  const path = { lookup: "/v1/suppressions/lookup", add: "/v1/suppressions", lift: "/v1/suppressions/lift" }[act];
  const { res, reply } = await send("POST", path, { address });
  const note = $("suppression-note");
  if (!res.ok) { note.textContent = problem(res, reply); return; }
  if (act === "lookup") {
    note.textContent = reply.suppressed
      ? tr("Không gửi thư mời tới địa chỉ này / No invitation goes to this address") + ": " + tr(SUPPRESSION_REASONS[reply.reason] || reply.reason) + ", " + when(reply.since)
      : tr("Thư mời vẫn được gửi tới địa chỉ này / Invitations go to this address");
  } else if (act === "add") {
    note.textContent = reply.added ? tr("Đã thêm: không gửi thư mời nữa / Suppressed: no more invitations") : tr("Đã có trong danh sách / Already on the list");
  } else {
    note.textContent = reply.lifted ? tr("Đã gỡ: thư mời được gửi lại / Lifted: invitations go to it again") : tr("Không có trong danh sách / Was not on the list");
  }
}

/// A person's request about their data: find, export (a file to hand over)
/// or erase, by email address or phone number (one of them).
async function personalData(e) {
  e.preventDefault();
  const act = (e.submitter && e.submitter.dataset.act) || "find";
  const email = $("person-email").value.trim(), phone = $("person-phone").value.trim();
  const body = email ? { email } : { phone };
  const note = $("person-note");
  if (act === "erase" && !confirm(tr("Xóa dữ liệu liên hệ của người này khỏi mọi phiếu và hồ sơ? / Erase this person's contact data from every form and case?"))) return;
  const { res, reply } = await send("POST", "/v1/personal-data/" + act, body);
  if (!res.ok) { note.textContent = problem(res, reply); return; }
  if (act === "erase") {
    note.textContent = tr("Đã xóa / Erased") + ": " + reply.forms_erased + " " + tr("phiếu / forms") + ", " + reply.cases_anonymised + " " + tr("hồ sơ / cases");
    return;
  }
  note.textContent = reply.forms.length + " " + tr("phiếu / forms") + ", " + reply.cases.length + " " + tr("hồ sơ / cases")
    + (reply.suppression ? ", " + tr("trong danh sách không gửi thư / on the suppression list") : "")
    + (reply.truncated ? " (" + tr("còn nữa / more") + ")" : "");
  if (act === "export") {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([JSON.stringify(reply, null, 2)], { type: "application/json" }));
    a.download = "personal-data.json";
    a.click();
    URL.revokeObjectURL(a.href);
  }
}

/// The webhooks and their dead letters, where this host delivers them.
/// The counter tablets: listed (never a credential), registered with the
/// credential shown once, revoked.
async function loadKiosks() {
  const res = await fetch("/v1/kiosks", { headers: headers(false), credentials: "same-origin" });
  if (!res.ok) return;
  const tablets = (await res.json()).items;
  fillTable($("kiosk-table"), [tr("Mã / Id"), tr("Đơn vị / Unit"), tr("Tên / Name"), tr("Đăng ký lúc / Registered"), tr("Thao tác / Action")], []);
  for (const k of tablets) {
    const row = el("tr");
    [k.id, k.office, k.name, when(k.registered_at)].forEach((v) => row.append(el("td", v)));
    const cell = el("td");
    if (k.revoked_at) {
      cell.textContent = tr("Đã thu hồi / Revoked") + " " + when(k.revoked_at);
    } else {
      const revoke = el("button", tr("Thu hồi / Revoke"), { type: "button", class: "secondary", "aria-label": tr("Thu hồi / Revoke") + " " + k.name });
      revoke.addEventListener("click", async () => {
        const { res, reply } = await send("POST", "/v1/kiosks/" + encodeURIComponent(k.id) + "/revoke");
        $("kiosk-note").textContent = res.ok ? tr("Đã thu hồi / Revoked") + " " + k.name : problem(res, reply);
        await loadKiosks();
      });
      cell.append(revoke);
    }
    row.append(cell);
    $("kiosk-table").append(row);
  }
}

async function registerKiosk(e) {
  e.preventDefault();
  const { res, reply } = await send("POST", "/v1/kiosks", { office: $("kiosk-office").value.trim(), name: $("kiosk-name").value.trim() });
  if (!res.ok) { $("kiosk-note").textContent = problem(res, reply); return; }
  $("kiosk-name").value = "";
  $("kiosk-note").textContent = tr("Đã đăng ký / Registered") + " " + reply.name + " · " + reply.start_url + " · "
    + tr("Mã đăng ký, chỉ hiện lần này / Registration code, shown only now") + ": " + reply.credential;
  await loadKiosks();
}

async function loadWebhooks() {
  const res = await fetch("/v1/webhooks", { headers: headers(false), credentials: "same-origin" });
  $("webhooks").hidden = !res.ok;
  if (!res.ok) return;
  const hooks = (await res.json()).items;
  fillTable($("webhook-table"), [tr("Mã / Id"), "URL", tr("Thêm lúc / Added"), tr("Thao tác / Action")], []);
  for (const h of hooks) {
    const row = el("tr");
    [h.id, h.url, when(h.created_at)].forEach((v) => row.append(el("td", v)));
    const cell = el("td");
    const remove = el("button", tr("Gỡ / Remove"), { type: "button", class: "secondary", "aria-label": tr("Gỡ / Remove") + " " + h.url });
    remove.addEventListener("click", async () => {
      const { res, reply } = await send("DELETE", "/v1/webhooks/" + encodeURIComponent(h.id));
      $("webhook-note").textContent = res.ok ? tr("Đã gỡ / Removed") + " " + h.url : problem(res, reply);
      await loadWebhooks();
    });
    cell.append(remove); row.append(cell);
    $("webhook-table").append(row);
  }
  const dead = (await (await api("/v1/webhooks/dead-letters")).json()).items;
  fillTable($("dead-table"), [tr("Sự kiện / Event"), tr("Loại / Type"), "Webhook", tr("Số lần / Attempts"), tr("Lỗi cuối / Last error"), tr("Thao tác / Action")], []);
  for (const d of dead) {
    const row = el("tr");
    [d.event_id, d.event_type, d.webhook_id, String(d.attempts), d.last_error || ""].forEach((v) => row.append(el("td", v)));
    const cell = el("td");
    const again = el("button", tr("Gửi lại / Send again"), { type: "button", class: "secondary", "aria-label": tr("Gửi lại / Send again") + " " + d.event_id });
    again.addEventListener("click", () => redeliver(d.event_id));
    cell.append(again); row.append(cell);
    $("dead-table").append(row);
  }
  $("redeliver-all").hidden = !dead.length;
}

async function redeliver(eventId) {
  const { res, reply } = await send("POST", "/v1/webhooks/redeliver", eventId ? { event_id: eventId } : {});
  $("webhook-note").textContent = res.ok ? tr("Đã xếp hàng gửi lại / Queued again") + ": " + num(reply.queued) : problem(res, reply);
  await loadWebhooks();
}

async function addWebhook(e) {
  e.preventDefault();
  const { res, reply } = await send("POST", "/v1/webhooks", { url: $("webhook-url").value.trim() });
  if (!res.ok) { $("webhook-note").textContent = problem(res, reply); return; }
  $("webhook-url").value = "";
  $("webhook-note").textContent = tr("Đã thêm / Added") + " " + reply.url + " · " + tr("Khóa bí mật, chỉ hiện lần này / Secret, shown only now") + ": " + reply.secret;
  await loadWebhooks();
}

/// The case rules as the department edits them; a save names the version it
/// read, so two editors never overwrite each other unseen.
let rulesVersion = null;

async function loadRulesDoc() {
  try {
    const r = await (await api("/v1/case-rules")).json();
    rulesVersion = r.version;
    $("rules-doc").value = JSON.stringify(r.rules, null, 2);
  } catch (e) { $("rules-problems").replaceChildren(el("li", e.message)); }
}

/// PUTs a settings document edited as JSON; every problem goes to the list
/// at its field. The reply, or null when it was refused.
async function putDocument(path, docId, problemsId, savedId) {
  const problems = $(problemsId);
  problems.replaceChildren(); $(savedId).textContent = "";
  let body;
  try { body = JSON.parse($(docId).value); } catch (e) { problems.append(el("li", "JSON: " + e.message)); return null; }
  const res = await fetch(path, {
    method: "PUT", credentials: "same-origin",
    headers: Object.assign(headers(true), { "Content-Type": "application/json" }),
    body: JSON.stringify(body),
  });
  const reply = await res.json().catch(() => ({}));
  if (res.status === 422 && reply.errors) {
    for (const e of reply.errors) problems.append(el("li", e.field + ": " + e.message));
    return null;
  }
  if (!res.ok) { problems.append(el("li", (reply.error && reply.error.message) || res.status + "")); return null; }
  return { created: res.status === 201, reply };
}

async function saveRulesDoc() {
  const saved = await putDocument("/v1/case-rules?version=" + encodeURIComponent(rulesVersion), "rules-doc", "rules-problems", "rules-saved");
  if (!saved) return;
  rulesVersion = saved.reply.version;
  $("rules-saved").textContent = tr("Đã lưu phiên bản / Saved as version") + " " + saved.reply.version;
}

async function loadOrgDoc() {
  try {
    const org = await (await api("/v1/org")).json();
    delete org.version;
    $("org-doc").value = JSON.stringify(org, null, 2);
  } catch (e) { $("org-problems").replaceChildren(el("li", e.message)); }
}

async function saveOrgDoc() {
  const saved = await putDocument("/v1/org", "org-doc", "org-problems", "org-saved");
  if (!saved) return;
  $("org-saved").textContent = saved.created
    ? tr("Đã lưu phiên bản / Saved as version") + " " + saved.reply.version
    : tr("Không có thay đổi: phiên bản hiện hành / Unchanged: the version in force is") + " " + saved.reply.version;
}

/// Opens the console for the session: on `view`, or the role's home.
async function start(view) {
  setState("loading");
  try { await openConsole(view); } finally { if (session) setState("ready"); }
}

async function openConsole(view) {
  $("who").textContent = (session.name ? session.name + " · " : "") + session.email;
  const roles = $("role");
  // Another person's roles (after a sign-out in this tab) are not offered.
  if ([...roles.options].map((o) => o.value).join() !== session.roles.map((r) => r.code).join()) {
    roles.replaceChildren();
    for (const r of session.roles) roles.append(el("option", tr(ROLE_LABELS[r.role] || r.role) + (r.unit ? " " + r.unit : "") + (r.officer ? " " + r.officer : ""), { value: r.code }));
  }
  $("role-choice").hidden = session.roles.length < 2;
  if (!session.roles.length) {
    $("signin").hidden = false;
    $("signin-note").textContent = tr("Danh bạ không có vai trò nào cho bạn / The org directory gives you no role: ask the department.");
    return;
  }
  $("signin").hidden = true;
  loadedViews = new Set();
  const role = activeRole();
  $("controls").hidden = false;
  // The views this role has (an officer: none but their own page, so no bar).
  document.querySelector("nav.views").hidden = role.role === "officer";
  for (const b of document.querySelectorAll("nav.views button")) b.hidden = !mayOpen(role, b.dataset.view);
  if (role.role !== "officer") await Promise.all([loadUnits(), loadReasons(), loadCaseRules(), loadKinds()]);
  // The inspection unit's own work: misconduct reports.
  $("case-unit").value = role.home === "misconduct" ? "inspection" : "";
  $("case-kind").value = role.home === "misconduct" ? "complaint" : "";
  if (/^#case=/.test(location.hash) && role.role !== "officer") return openCase();
  await openView(view && mayOpen(role, view) ? view : HOMES[role.home] || "figures");
}

/// The views a role has: an officer their own page alone, the department
/// settings too, the inspection unit and the department the retaliation watch.
function mayOpen(role, view) {
  if (role.role === "officer") return view === "me";
  if (view === "settings") return role.role === "department";
  if (view === "watch") return role.role === "department" || role.role === "inspection";
  return view !== "me";
}

document.addEventListener("DOMContentLoaded", () => {
  const today = new Date();
  $("to").value = isoDay(today);
  $("from").value = isoDay(new Date(today.getTime() - 29 * 86400000));
  $("code-form").addEventListener("submit", sendCode);
  $("oidc-form").addEventListener("submit", (e) => { e.preventDefault(); startOidc(); });
  $("org-load").addEventListener("click", loadOrgDoc);
  $("lang").addEventListener("change", () => setLanguage($("lang").value));
  translatePage();
  $("org-save").addEventListener("click", saveOrgDoc);
  $("rules-load").addEventListener("click", loadRulesDoc);
  $("rules-save").addEventListener("click", saveRulesDoc);
  $("session-form").addEventListener("submit", useCode);
  $("role").addEventListener("change", () => start());
  $("query").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  $("csv").addEventListener("click", downloadCsv);
  $("signout").addEventListener("click", signOut);
  $("case-query").addEventListener("submit", (e) => { e.preventDefault(); listCases(); });
  $("period-form").addEventListener("submit", (e) => { e.preventDefault(); loadLeadership(); });
  $("case-action").addEventListener("submit", actOnCase);
  $("watch-action").addEventListener("submit", actOnWatch);
  $("case-action-kind").addEventListener("change", showActionFields);
  for (const b of document.querySelectorAll("nav.views button")) b.addEventListener("click", () => showView(b.dataset.view));
  $("suppression-form").addEventListener("submit", suppression);
  $("person-form").addEventListener("submit", personalData);
  $("webhook-form").addEventListener("submit", addWebhook);
  $("kiosk-form").addEventListener("submit", registerKiosk);
  $("redeliver-all").addEventListener("click", () => redeliver(null));
  window.addEventListener("hashchange", caseFromHash);
  resume();
});
