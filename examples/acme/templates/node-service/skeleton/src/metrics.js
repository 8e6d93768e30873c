// Prometheus text format (version 0.0.4) for the few series this service keeps: requests by
// route and status, their durations as a histogram, and the process's uptime and memory.
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const escape = (v) => String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (o) =>
  Object.keys(o).length === 0
    ? ''
    : `{${Object.entries(o)
        .map(([k, v]) => `${k}="${escape(v)}"`)
        .join(',')}}`;

export function createMetrics() {
  const requests = new Map();
  const durations = new Map();
  const started = Date.now();
  return {
    /** Counts one answered request; `route` is the matched pattern, never the raw URL (bounded labels). */
    observe(method, route, status, seconds) {
      const key = JSON.stringify([method, route, String(status)]);
      requests.set(key, (requests.get(key) ?? 0) + 1);
      const dkey = JSON.stringify([method, route]);
      let h = durations.get(dkey);
      if (!h) durations.set(dkey, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
      BUCKETS.forEach((b, i) => {
        if (seconds <= b) h.counts[i] += 1;
      });
      h.sum += seconds;
      h.count += 1;
    },
    render() {
      const out = [];
      out.push('# HELP http_requests_total Requests answered, by method, route and status.');
      out.push('# TYPE http_requests_total counter');
      for (const [key, n] of requests) {
        const [method, route, status] = JSON.parse(key);
        out.push(`http_requests_total${labels({ method, route, status })} ${n}`);
      }
      out.push('# HELP http_request_duration_seconds Time to answer a request.');
      out.push('# TYPE http_request_duration_seconds histogram');
      for (const [key, h] of durations) {
        const [method, route] = JSON.parse(key);
        BUCKETS.forEach((b, i) =>
          out.push(`http_request_duration_seconds_bucket${labels({ method, route, le: b })} ${h.counts[i]}`),
        );
        out.push(`http_request_duration_seconds_bucket${labels({ method, route, le: '+Inf' })} ${h.count}`);
        out.push(`http_request_duration_seconds_sum${labels({ method, route })} ${h.sum}`);
        out.push(`http_request_duration_seconds_count${labels({ method, route })} ${h.count}`);
      }
      out.push('# HELP process_uptime_seconds Seconds since the process started.');
      out.push('# TYPE process_uptime_seconds gauge');
      out.push(`process_uptime_seconds ${(Date.now() - started) / 1000}`);
      out.push('# HELP process_resident_memory_bytes Resident memory size in bytes.');
      out.push('# TYPE process_resident_memory_bytes gauge');
      out.push(`process_resident_memory_bytes ${process.memoryUsage.rss()}`);
      return `${out.join('\n')}\n`;
    },
  };
}
