// One benchmark scenario: it sets up what it measures, runs both sides, and hands back tables of rows and
// verdicts against its targets. `Bench.ts` runs a list of them; a new figure is a new entry in that list.

export interface BenchContext {
  /** Measured repetitions of each side, at most. */
  readonly runs: number
  /** No new repetition starts once measuring has taken this long (at least one always runs). */
  readonly budgetMs: number
  /** A directory of this run only, removed when the bench ends. */
  readonly workDir: string
  /** Also take a CPU profile of our side and summarize where its time goes. */
  readonly profile: boolean
  /** A progress line on stderr, so stdout keeps only the report. */
  readonly log: (line: string) => void
}

export interface Table {
  readonly title?: string
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
}

export interface Verdict {
  readonly target: string
  readonly measured: string
  readonly pass: boolean
}

export interface ScenarioReport {
  /** What was measured, in a sentence or two (sizes, runs). */
  readonly summary: ReadonlyArray<string>
  readonly tables: ReadonlyArray<Table>
  readonly verdicts: ReadonlyArray<Verdict>
  readonly notes: ReadonlyArray<string>
}

export interface Scenario {
  /** Short name for `--only NAME`. */
  readonly name: string
  readonly title: string
  readonly run: (context: BenchContext) => Promise<ScenarioReport>
}
