// The simulator's SCHOOLS table: the district's schools and PowerSchool's "Graduated Students" school.
import { GRADUATED_SCHOOL_NUMBER, schoolNumbers } from './students.js';

export interface SimulatedSchool {
  school_number: number;
  name: string;
  low_grade: number;
  high_grade: number;
}

export const SCHOOL_TABLE_COLUMNS = ['school_number', 'name', 'low_grade', 'high_grade'] as const;

const NAMES = ['North', 'South', 'East', 'West', 'Central', 'Lakeside', 'Hillcrest', 'Riverside', 'Oakwood', 'Maple'];

/** The district's schools (each K-12 with pre-K, like the seeded students), then the graduates' school. */
export function seedSchools(schools: number): SimulatedSchool[] {
  return [
    ...schoolNumbers(schools).map((school_number, i) => ({
      school_number,
      name: `${NAMES[i % NAMES.length]}${i >= NAMES.length ? ` ${Math.floor(i / NAMES.length) + 1}` : ''} School`,
      low_grade: -2,
      high_grade: 12,
    })),
    { school_number: GRADUATED_SCHOOL_NUMBER, name: 'Graduated Students', low_grade: 99, high_grade: 99 },
  ];
}
