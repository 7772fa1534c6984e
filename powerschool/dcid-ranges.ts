// Groups DCIDs into the ranges a lookup reads: PowerSchool's query has no IN, so nearby DCIDs share one range read.

export interface DcidRange {
  from: string;
  to: string;
}

/**
 * DCIDs → ranges covering them all (in numeric order, whatever order they come in). A range of width w holds at most w records, so it costs
 * at most ceil(w / pageSize) pages; the next DCID joins the current range when that adds at most
 * one page (never worse than a request of its own), and a range stops growing at `maxPages`, so
 * each read ends within a lookup activity's time budget.
 */
export function planDcidRanges(dcids: readonly string[], pageSize: number, maxPages: number): DcidRange[] {
  const ranges: DcidRange[] = [];
  const size = BigInt(pageSize);
  const pagesOf = (from: bigint, to: bigint) => (to - from + size) / size; // ceil((to - from + 1) / size)
  let from: bigint | null = null;
  let to: bigint | null = null;
  const sorted = dcids.map((d) => BigInt(d)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const dcid of sorted) {
    if (from !== null && to !== null) {
      const merged = pagesOf(from, dcid);
      if (merged <= pagesOf(from, to) + 1n && merged <= BigInt(maxPages)) {
        to = dcid;
        continue;
      }
      ranges.push({ from: String(from), to: String(to) });
    }
    from = dcid;
    to = dcid;
  }
  if (from !== null && to !== null) ranges.push({ from: String(from), to: String(to) });
  return ranges;
}
