// What every kaasctl command prints with: the -o option, JSON/YAML documents, aligned tables.
import { Option } from 'commander';
import { stringify } from 'yaml';

export const outputOption = () =>
  new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table');

/** A document as JSON (the default) or YAML. */
export function printData(value: unknown, format: string): void {
  console.log(format === 'yaml' ? stringify(value).trimEnd() : JSON.stringify(value, null, 2));
}

/** Columns padded to their widest cell; the first row is the header. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows)
    console.log(
      r
        .map((v, i) => v.padEnd(widths[i]! + 3))
        .join('')
        .trimEnd(),
    );
}
