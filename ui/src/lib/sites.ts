// Site list helpers: distances and nearest-first order.

import type { Position, Site } from "../types";

const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle distance in km between two WGS-84 points (haversine). */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = (d: number) => (d * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Sites ordered nearest first from `here`; sites without a position go last, by name. */
export function nearestFirst(sites: Site[], here: Position): Site[] {
  const d = (s: Site) => (s.position ? distanceKm(here, s.position) : Number.POSITIVE_INFINITY);
  return [...sites].sort((a, b) => d(a) - d(b) || a.name.localeCompare(b.name, "zh-CN"));
}

/** A position typed by hand, checked; null when a number is missing or out of range. */
export function manualPosition(lat: string, lon: string, accuracy: string): Position | null {
  const [la, lo, acc] = [lat, lon, accuracy || "50"].map((s) => Number(s.trim()));
  if (![la, lo, acc].every(Number.isFinite) || lat.trim() === "" || lon.trim() === "") return null;
  if (Math.abs(la) > 90 || Math.abs(lo) > 180 || acc < 0) return null;
  return { lat: la, lon: lo, accuracy_m: acc, source: "manual" };
}

/**
 * What an empty site list says: no site matches the typed text, or none of the chosen type; or,
 * with no filter at all, that there are no sites yet (they arrive with the first sync).
 */
export function emptyListMessage(
  text: string,
  siteType: string,
): { key: "home.no_match" | "home.no_match_type" | "home.no_sites"; text?: string } {
  if (text.trim()) return { key: "home.no_match", text: text.trim() };
  if (siteType) return { key: "home.no_match_type" };
  return { key: "home.no_sites" };
}
