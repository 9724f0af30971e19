import { startWorker } from "./lib/worker.mjs";
import { chromium } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";
process.env.SCOREGATE_REUSE_WORKER_BUILD = "1";
const w = await startWorker();
const origin = w.url.origin;
const b = await chromium.launch({ executablePath: "/usr/lib/chromium/chromium-headless-shell", args: ["--headless"] });
for (const extra of [null, { hiddenClients: true }]) {
  const ctx = await b.newContext({ viewport: { width: 1280, height: 900 } });
  if (extra) await ctx.route(`${origin}/docs`, async (route) => {
    const r = await route.fetch();
    let html = await r.text();
    const m = html.match(/data-configuration="([^"]*)"/) ;
    html = html.replace(/(Scalar\.createApiReference\([^,]+,\s*)(\{)/, `$1{...${JSON.stringify(extra)}, `);
    const h = { ...r.headers() }; delete h["content-security-policy"];
    await route.fulfill({ status: 200, headers: h, body: html });
  });
  const p = await ctx.newPage();
  const t0 = performance.now();
  await p.goto(`${origin}/docs`);
  await p.getByText("Fit and store a calibration").first().waitFor({ timeout: 60000 });
  let prev=-1,cur=0; while(cur!==prev){prev=cur; await p.waitForTimeout(1000); cur=await p.evaluate(() => document.querySelectorAll("*").length);} const t1 = performance.now();
  const n = await p.evaluate(() => document.querySelectorAll("*").length);
  const t2 = performance.now();
  console.log(await p.evaluate(() => { const c={}; for (const e of document.querySelectorAll("*")) { const k=e.tagName+"."+(typeof e.className==="string"?e.className.split(" ")[0]:""); c[k]=(c[k]||0)+1;} return JSON.stringify(Object.entries(c).sort((a,b)=>b[1]-a[1]).slice(0,25)); }));
  console.log(await p.evaluate(() => { const out=[]; const walk=(e,d)=>{ if(d>7) return; for(const ch of e.children){ const n=ch.querySelectorAll("*").length; if(n>1500){ out.push(" ".repeat(d)+ch.tagName+"."+(typeof ch.className==="string"?ch.className.slice(0,40):"")+" "+n); walk(ch,d+1);} } }; walk(document.body,0); return out.join("\n"); }));
  const r = await new AxeBuilder({ page: p }).setLegacyMode(true).options({ resultTypes: ["violations"] }).analyze();
  const t3 = performance.now();
  console.log(JSON.stringify(extra), "elements", n, "load", ((t1 - t0) / 1000).toFixed(1), "axe", ((t3 - t2) / 1000).toFixed(1), "viol", r.violations.filter(v=>v.impact==="serious"||v.impact==="critical").length);
  await ctx.close();
}
await b.close(); await w.close();
