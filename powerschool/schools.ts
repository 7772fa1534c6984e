// The SCHOOLS table as the client reads it: school number, name and grade span of each school of the district.
import { integerCellSchema } from './record-cells.js';

/** The SCHOOLS columns the client asks for; plugin.xml grants the same set (a test keeps them equal). */
export const SCHOOL_COLUMNS: readonly string[] = Object.freeze(['school_number', 'name', 'low_grade', 'high_grade']);

export interface PowerSchoolSchool {
  schoolNumber: number;
  name: string;
  lowGrade: number | null;
  highGrade: number | null;
}

/** One raw SCHOOLS row; null without a readable school number. */
export function schoolOf(raw: unknown): PowerSchoolSchool | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const row: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(raw)) row[key.toLowerCase()] ??= value;
  const int = (value: unknown) => {
    const parsed = integerCellSchema.safeParse(value);
    return parsed.success ? parsed.data : null;
  };
  const schoolNumber = int(row.school_number);
  if (schoolNumber === null) return null;
  const name = typeof row.name === 'string' || typeof row.name === 'number' ? String(row.name).trim() : '';
  return { schoolNumber, name, lowGrade: int(row.low_grade), highGrade: int(row.high_grade) };
}
