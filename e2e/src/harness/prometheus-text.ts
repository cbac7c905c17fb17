/**
 * A strict checker for the Prometheus text exposition format (version 0.0.4), as scraped from
 * `/metrics`: line syntax, metric and label names, float values, HELP/TYPE per family,
 * grouping, duplicate series, counter naming and histogram consistency.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
const METRIC_TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// What Go's strconv.ParseFloat accepts in decimal form, plus its spellings of infinity and NaN.
const FLOAT_RE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)|[nN][aA][nN])$/;
const TIMESTAMP_RE = /^-?\d+$/;
const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[ \t]*(\{.*\})?[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*$/;
const LABEL_RE = /[ \t]*([^=\s,]+)[ \t]*=[ \t]*"((?:[^"\\\n]|\\[\\"n])*)"[ \t]*(?:,|$)/y;

export interface Sample {
  line: number;
  name: string;
  labels: Record<string, string>;
  value: number;
  family: string;
}

export interface Family {
  name: string;
  help?: string;
  type?: MetricType;
  samples: Sample[];
}

export interface ExpositionReport {
  errors: string[];
  families: Map<string, Family>;
  samples: Sample[];
}

export interface CheckOptions {
  /** Every family name must start with this (our own metrics: `fog_`). */
  requiredPrefix?: string;
}

export function parseFloatStrict(text: string): number | null {
  if (!FLOAT_RE.test(text)) return null;
  const t = text.toLowerCase().replace(/^\+/, '');
  if (t === 'nan') return NaN;
  if (t === 'inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  return Number(text);
}

function unescapeLabel(v: string): string {
  return v.replace(/\\([\\"n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

function seriesKey(name: string, labels: Record<string, string>, omit?: string): string {
  const keys = Object.keys(labels).filter((k) => k !== omit).sort();
  return `${name}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

/** Check an exposition; never throws, returns every problem found with its line number. */
export function checkExposition(text: string, opts: CheckOptions = {}): ExpositionReport {
  const errors: string[] = [];
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const series = new Set<string>();
  const closed = new Set<string>();
  let current: string | null = null;

  if (text.length === 0) errors.push('the exposition is empty');
  else if (!text.endsWith('\n')) errors.push('the last line does not end with a line feed');

  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, samples: [] }));
    return f;
  };
  // All lines of one family come as one group.
  const enter = (name: string, lineNo: number) => {
    if (current === name) return;
    if (closed.has(name)) errors.push(`line ${lineNo}: lines of family ${name} are not grouped together`);
    if (current !== null) closed.add(current);
    current = name;
  };

  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!m) {
        if (/^#[ \t]*(HELP|TYPE)\b/.test(line)) errors.push(`line ${n}: malformed ${line.slice(0, 80)}`);
        return; // a plain comment
      }
      const [, kind, name, rest] = m;
      if (!METRIC_NAME_RE.test(name)) errors.push(`line ${n}: invalid metric name ${JSON.stringify(name)} in ${kind}`);
      enter(name, n);
      const f = family(name);
      if (kind === 'HELP') {
        if (f.help !== undefined) errors.push(`line ${n}: second HELP for ${name}`);
        f.help = rest ?? '';
        if (!/^(?:[^\\]|\\[\\n])*$/.test(f.help)) errors.push(`line ${n}: invalid escape in HELP of ${name}`);
      } else {
        if (f.type !== undefined) errors.push(`line ${n}: second TYPE for ${name}`);
        const t = (rest ?? '').trim();
        if (!(METRIC_TYPES as readonly string[]).includes(t)) errors.push(`line ${n}: unknown TYPE ${JSON.stringify(t)} for ${name}`);
        else f.type = t as MetricType;
        if (f.samples.length > 0) errors.push(`line ${n}: TYPE for ${name} after its samples`);
      }
      return;
    }

    const m = SAMPLE_RE.exec(line);
    if (!m) {
      errors.push(`line ${n}: not a sample line: ${JSON.stringify(line.slice(0, 120))}`);
      return;
    }
    const [, name, labelBlock, valueText, tsText] = m;
    const labels: Record<string, string> = {};
    if (labelBlock !== undefined) {
      const inner = labelBlock.slice(1, -1);
      let pos = 0;
      while (pos < inner.length && inner.slice(pos).trim() !== '') {
        LABEL_RE.lastIndex = pos;
        const lm = LABEL_RE.exec(inner);
        if (!lm || lm.index !== pos) {
          errors.push(`line ${n}: malformed labels ${labelBlock}`);
          break;
        }
        const [, lname, lvalue] = lm;
        if (!LABEL_NAME_RE.test(lname)) errors.push(`line ${n}: invalid label name ${JSON.stringify(lname)}`);
        else if (lname.startsWith('__')) errors.push(`line ${n}: reserved label name ${lname}`);
        if (Object.prototype.hasOwnProperty.call(labels, lname)) errors.push(`line ${n}: duplicate label ${lname}`);
        labels[lname] = unescapeLabel(lvalue);
        pos = LABEL_RE.lastIndex;
      }
    }
    const value = parseFloatStrict(valueText);
    if (value === null) errors.push(`line ${n}: invalid value ${JSON.stringify(valueText)} for ${name}`);
    if (tsText !== undefined && !TIMESTAMP_RE.test(tsText)) errors.push(`line ${n}: invalid timestamp ${JSON.stringify(tsText)}`);

    const fam = familyOf(name, families);
    enter(fam, n);
    const f = family(fam);
    if (f.type === undefined) errors.push(`line ${n}: sample ${name} has no TYPE line before it`);
    if (f.type !== undefined && f.type !== 'histogram' && f.type !== 'summary' && name !== fam) {
      errors.push(`line ${n}: sample ${name} does not belong to ${f.type} ${fam}`);
    }
    if (f.type === 'histogram' && name === fam) errors.push(`line ${n}: histogram ${fam} sample without _bucket/_sum/_count suffix`);
    if (f.type === 'histogram' && name === `${fam}_bucket` && labels.le === undefined) errors.push(`line ${n}: bucket of ${fam} without le label`);
    if (f.type === 'summary' && name === fam && labels.quantile === undefined) errors.push(`line ${n}: summary ${fam} sample without quantile label`);
    const key = seriesKey(name, labels);
    if (series.has(key)) errors.push(`line ${n}: duplicate series ${key}`);
    series.add(key);
    const s: Sample = { line: n, name, labels, value: value ?? NaN, family: fam };
    f.samples.push(s);
    samples.push(s);
  });

  for (const f of families.values()) {
    if (f.samples.length > 0 && f.help === undefined) errors.push(`family ${f.name} has samples but no HELP line`);
    if (f.samples.length > 0 && f.type === undefined) errors.push(`family ${f.name} has samples but no TYPE line`);
    if (opts.requiredPrefix && !f.name.startsWith(opts.requiredPrefix)) errors.push(`family ${f.name} does not start with ${opts.requiredPrefix}`);
    if (f.type === 'counter') {
      if (!f.name.endsWith('_total')) errors.push(`counter ${f.name} does not end with _total`);
      for (const s of f.samples) if (!(s.value >= 0)) errors.push(`line ${s.line}: counter ${s.name} has value ${s.value}`);
    }
    if (f.type === 'histogram') errors.push(...checkHistogram(f));
  }
  return { errors, families, samples };
}

function familyOf(name: string, families: Map<string, Family>): string {
  for (const [suffix, types] of [['_bucket', ['histogram']], ['_sum', ['histogram', 'summary']], ['_count', ['histogram', 'summary']]] as const) {
    if (!name.endsWith(suffix)) continue;
    const base = families.get(name.slice(0, -suffix.length));
    if (base?.type && (types as readonly string[]).includes(base.type)) return base.name;
  }
  return name;
}

/** Buckets cumulative and ending at +Inf, _count equal to the +Inf bucket, _sum present, per series. */
function checkHistogram(f: Family): string[] {
  const errors: string[] = [];
  const groups = new Map<string, { buckets: Array<{ le: number; v: number }>; sum?: number; count?: number }>();
  const group = (s: Sample) => {
    const k = seriesKey('', s.labels, 'le');
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { buckets: [] }));
    return g;
  };
  for (const s of f.samples) {
    if (s.name === `${f.name}_bucket`) {
      const le = parseFloatStrict(s.labels.le ?? '');
      if (le === null || Number.isNaN(le)) errors.push(`line ${s.line}: bucket le=${JSON.stringify(s.labels.le)} is not a number`);
      else group(s).buckets.push({ le, v: s.value });
    } else if (s.name === `${f.name}_sum`) group(s).sum = s.value;
    else if (s.name === `${f.name}_count`) group(s).count = s.value;
  }
  for (const [k, g] of groups) {
    const where = `histogram ${f.name}${k}`;
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i].le > g.buckets[i - 1].le)) errors.push(`${where}: bucket bounds not increasing`);
      if (!(g.buckets[i].v >= g.buckets[i - 1].v)) errors.push(`${where}: bucket counts not cumulative`);
    }
    const last = g.buckets.at(-1);
    if (!last || last.le !== Infinity) errors.push(`${where}: no le="+Inf" bucket`);
    if (g.count === undefined) errors.push(`${where}: no _count`);
    if (g.sum === undefined) errors.push(`${where}: no _sum`);
    if (last && g.count !== undefined && last.le === Infinity && last.v !== g.count) errors.push(`${where}: _count ${g.count} differs from +Inf bucket ${last.v}`);
  }
  return errors;
}

/** Check and throw an error listing every problem (with the offending text) when there is any. */
export function assertValidExposition(text: string, source: string, opts: CheckOptions = {}): ExpositionReport {
  const report = checkExposition(text, opts);
  if (report.errors.length > 0) {
    const shown = report.errors.slice(0, 30).join('\n  ');
    throw new Error(`${source}: invalid Prometheus text exposition (${report.errors.length} problems):\n  ${shown}\n--- text (first 3000 chars):\n${text.slice(0, 3000)}`);
  }
  return report;
}

/** Sum of the samples named `name` whose labels include `labels`, or undefined when none match. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (!Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
    total = (total ?? 0) + s.value;
  }
  return total;
}
