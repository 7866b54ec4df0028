// The rating page's one convenience: rating the office 3 or lower opens the
// detailed subjects (teams, stages, officers). Without this script the page
// works the same; the business opens the section itself.
"use strict";
document.addEventListener("change", (e) => {
  const t = e.target;
  if (t.type === "radio" && t.closest("[data-kind=branch]") && Number(t.value) <= 3) {
    const more = document.querySelector("details.more");
    if (more) more.open = true;
  }
});

// At a counter tablet (kiosk mode) the page goes back to the tablet's start
// screen after the seconds its element names with nobody touching it, so the
// next business never sees the last one's form or thanks.
const idle = document.querySelector("[data-kiosk-idle]");
if (idle) {
  const seconds = Number(idle.getAttribute("data-kiosk-idle")) || 60;
  let timer = 0;
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => location.replace("/kiosk"), seconds * 1000);
  };
  for (const ev of ["input", "change", "keydown", "pointerdown", "scroll"]) {
    document.addEventListener(ev, rearm, { passive: true });
  }
  rearm();
}
