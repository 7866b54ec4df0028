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
