/**
 * The retrieval pipeline of the example, with stand-ins for the parts that would need a model: a keyword retriever
 * over a small corpus and a deterministic "cross-encoder" that writes `metadata.relevanceScore` (the key LangChain.js
 * rerankers write), both as LangChain.js components. Swap them for a vector store retriever and a real reranker
 * (Cohere, a cross-encoder behind an API, ...): the scoregate part does not change.
 */
import { Document } from "@langchain/core/documents";
import { BaseRetriever } from "@langchain/core/retrievers";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";

/** The gate this service applies: which index, embedding model and reranker its scores come from. */
export const GATE = { index: "rag-example", embedding: "stub-embedding-v1", reranker: "stub-reranker-v1" };

const PASSAGES = [
  "Refunds are issued to the original payment method within five business days of approval.",
  "A refund request must be filed within thirty days of delivery, with the order number.",
  "Orders ship from the nearest warehouse; tracking numbers arrive by email within a day.",
  "Express shipping delivers within two business days in most regions, at an extra fee.",
  "Passwords can be reset from the sign-in page with the link sent to the account email.",
  "Two-factor authentication can be enabled under account settings, security tab.",
  "Invoices for business accounts are available as PDF under billing, invoices.",
  "The annual plan is billed once a year and can be cancelled before the renewal date.",
  "Damaged items can be returned for a replacement; attach a photo of the damage.",
  "Gift cards never expire and can be combined with other payment methods at checkout.",
  "Support answers chat messages from eight to eight on weekdays, email on weekends.",
  "Warehouse pickup is free; orders are held for seven days before they are returned.",
];

export const CORPUS = PASSAGES.map((text, i) => new Document({ id: `doc-${i + 1}`, pageContent: text, metadata: { source: `faq#${i + 1}` } }));

const words = (s) => s.toLowerCase().match(/[a-z]+/gu) ?? [];

/** A fixed "model noise" per query and passage in [0, 1): FNV-1a of the text, then MurmurHash3's finalizer to mix it. */
function noise(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

/** Keyword retriever: the k passages sharing the most words with the query (like a vector store, it always answers k). */
export class KeywordRetriever extends BaseRetriever {
  lc_namespace = ["scoregate", "examples"];

  constructor(documents = CORPUS, k = 8) {
    super();
    this.documents = documents;
    this.k = k;
  }

  async _getRelevantDocuments(query) {
    const q = new Set(words(query).filter((w) => w.length >= 4));
    return this.documents
      .map((d, i) => ({ d, i, hits: words(d.pageContent).filter((w) => q.has(w)).length }))
      .sort((a, b) => b.hits - a.hits || a.i - b.i)
      .slice(0, this.k)
      .map((x) => x.d);
  }
}

/**
 * A stand-in reranker: a score in (0, 1) from the share of query words in the passage plus a fixed per-pair noise,
 * shaped like a cross-encoder's sigmoid output.
 */
export class StubReranker extends BaseDocumentCompressor {
  async compressDocuments(documents, query) {
    const q = words(query);
    const scored = documents.map((d) => {
      const text = new Set(words(d.pageContent));
      const share = q.length === 0 ? 0 : q.filter((w) => text.has(w)).length / q.length;
      const logit = 6 * share - 2.5 + 1.6 * (noise(`${query}\u0000${d.id}`) - 0.5);
      return new Document({ id: d.id, pageContent: d.pageContent, metadata: { ...d.metadata, relevanceScore: 1 / (1 + Math.exp(-logit)) } });
    });
    return scored.sort((a, b) => b.metadata.relevanceScore - a.metadata.relevanceScore);
  }
}

/** Queries that a rebuild pipeline would replay to calibrate the gate (calibration-scores.mjs). */
export const SAMPLE_QUERIES = [
  "how do refunds work",
  "refund request deadline order number",
  "when does my order ship",
  "express shipping fee",
  "reset my password",
  "enable two-factor authentication",
  "download invoices for business accounts",
  "cancel the annual plan before renewal",
  "return a damaged item",
  "do gift cards expire",
  "support hours on weekends",
  "warehouse pickup hold days",
  "refund to original payment method",
  "tracking number email",
  "billing invoices pdf",
  "account security settings",
  "replacement for damaged delivery",
  "combine gift cards at checkout",
  "chat support weekdays",
  "orders returned from warehouse pickup",
];
