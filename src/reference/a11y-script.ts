/**
 * A small script served at /docs/a11y.js next to the API reference. The reference's own markup has accessibility
 * faults that axe reports as critical or serious (buttons with `aria-selected`, icon-only buttons without a name, a
 * tablist with plain buttons, a focusable content-type badge inside a response's button, a group's "Show More" button
 * named without the words it shows); the script repairs them as the reference renders, so keyboard and screen-reader
 * users get a usable page. It only adds or removes ARIA attributes: no content, no requests.
 */
export const REFERENCE_A11Y_SCRIPT = `(() => {
  const nameOf = (b) => {
    const c = String(b.className || "");
    if (c.includes("copy")) return "Copy to clipboard";
    if (b.getAttribute("role") === "search") return "Search the API reference";
    if (b.hasAttribute("aria-controls") || b.hasAttribute("aria-expanded")) return "Show or hide details";
    return "Open";
  };
  const fix = () => {
    // A response's content-type badge sits inside the button that opens the response: a focusable badge leaves the
    // tab order; a listbox button (a response with two media types, as the series' JSON and CSV) is disabled, since a
    // button inside a button cannot be reached reliably anyway (CSV is asked for with format=csv, not this listbox).
    for (const el of document.querySelectorAll("button [tabindex]")) if (el.tagName !== "BUTTON") el.removeAttribute("tabindex");
    for (const b of document.querySelectorAll("button button")) if (!b.disabled) b.disabled = true;
    for (const b of document.querySelectorAll("button[aria-selected]")) {
      const r = b.getAttribute("role");
      if (r !== "tab" && r !== "option" && r !== "gridcell" && r !== "row") b.removeAttribute("aria-selected");
    }
    for (const t of document.querySelectorAll('[role="tablist"]')) {
      for (const ch of t.querySelectorAll("button")) if (ch.getAttribute("role") !== "tab") ch.setAttribute("role", "tab");
    }
    for (const b of document.querySelectorAll("button")) {
      // A group's "Show More" button is named "Show all Serving endpoints": a name that leaves out the words on the
      // button fails speech users, who say what they see, so it becomes "Show More: all Serving endpoints". Only
      // these labels are read (innerText costs a layout), and a label already renamed no longer matches.
      const label = b.getAttribute("aria-label");
      if (label !== null && label.startsWith("Show all ")) {
        const text = b.innerText.replace(/\\s+/g, " ").trim();
        if (text !== "") b.setAttribute("aria-label", text + ": " + label.slice(5));
      }
      if (b.hasAttribute("aria-label") || b.hasAttribute("aria-labelledby")) continue;
      if (String(b.className || "").includes("copy") || b.innerText.trim() === "") {
        b.setAttribute("aria-label", nameOf(b));
      } else if (b.getAttribute("role") === "search" && !b.hasAttribute("aria-label")) {
        b.setAttribute("aria-label", "Search the API reference");
      }
    }
  };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; fix(); });
  }).observe(document.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-selected", "role", "tabindex"] });
  fix();
})();
`;
