// The two text routes rank candidates by one number each: the best attribute prompt (a patch that
// shows any typical feature of the cancer) and the sum over the report's findings (a patch that
// agrees with the whole report). Ties go to the lower candidate index so rankings are stable.

export interface RankedRow {
  index: number;
  score: number;
}

/** Per row of a row-major n × columns matrix: its maximum. */
export function rowMaxima(matrix: Float32Array, n: number, columns: number): Float64Array {
  const result = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let j = i * columns; j < i * columns + columns; j++) best = Math.max(best, matrix[j]!);
    result[i] = best;
  }
  return result;
}

/** Per row of a row-major n × columns matrix: its sum. */
export function rowSums(matrix: Float32Array, n: number, columns: number): Float64Array {
  const result = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = i * columns; j < i * columns + columns; j++) sum += matrix[j]!;
    result[i] = sum;
  }
  return result;
}

/** The `top` rows with the highest scores, best first. */
export function topRows(scores: ArrayLike<number>, top: number): RankedRow[] {
  const rows: RankedRow[] = [];
  for (let index = 0; index < scores.length; index++) rows.push({ index, score: scores[index]! });
  rows.sort((a, b) => b.score - a.score || a.index - b.index);
  return rows.slice(0, top);
}
