// Plain-text rendering of benchmark reports: aligned columns, numbers right-aligned, for a terminal or a log.
import type { ScenarioReport, Table } from "./Scenario.js"

const numeric = /^[-+]?[\d.,]+\s*[A-Za-z/%x]*$/

export const renderTable = (table: Table): string => {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, i) => (i > 0 && numeric.test(cell) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd()
  return [
    ...(table.title === undefined ? [] : [table.title]),
    line(table.columns),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...table.rows.map(line)
  ].join("\n")
}

export const renderReport = (title: string, report: ScenarioReport): string => {
  const verdicts: Table = {
    columns: ["target", "measured", "verdict"],
    rows: report.verdicts.map((v) => [v.target, v.measured, v.pass ? "PASS" : "MISS"])
  }
  return [
    `== ${title} ==`,
    ...report.summary,
    "",
    ...report.tables.flatMap((t) => [renderTable(t), ""]),
    renderTable(verdicts),
    ...(report.notes.length === 0 ? [] : ["", ...report.notes])
  ].join("\n")
}

export const mib = (bytes: number): number => bytes / (1024 * 1024)

export const fixed = (value: number, digits = 1): string => value.toFixed(digits)
