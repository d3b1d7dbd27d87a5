// Joins class names; variants below are written so a caller's className extends, never fights, them.
import { clsx, type ClassValue } from "clsx";

export function cn(...values: ClassValue[]): string {
  return clsx(values);
}
