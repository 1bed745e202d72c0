// The opener lives apart so `status` and `credits` load no LLM client code at start-up; the meter
// that charges calls to this ledger is `llm/meter.ts`.
export { openUserLedger } from './userLedger.js';
