import { open, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { readDicomInstance, type DicomInstance } from './dicom-instance.js';
import { slideUnreadable, unsupportedFormat } from './slide-errors.js';

// Which instances make the slide, as OpenSlide 4 decides: the series (SeriesInstanceUID) of the
// file given, or the one whole-slide series of the folder given; its VOLUME instances are the
// levels, widest first, and LABEL, OVERVIEW and THUMBNAIL instances the associated images label,
// macro and thumbnail. Other flavours are ignored; two different instances of one size fail.

export interface DicomSeries {
  seriesUid: string;
  levels: DicomInstance[];
  associated: { name: string; instance: DicomInstance }[];
}

const associatedNames: Record<string, string> = { LABEL: 'label', OVERVIEW: 'macro', THUMBNAIL: 'thumbnail' };
const headerConcurrency = 4;

export async function findDicomSeries(path: string, isFolder: boolean): Promise<DicomSeries> {
  const folder = isFolder ? path : dirname(path);
  const names = (
    await readdir(folder, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      throw slideUnreadable(path, `cannot list folder ${folder} (${error.code ?? 'error'})`, {}, error);
    })
  )
    .filter((entry) => entry.isFile() || entry.isSymbolicLink())
    .map((entry) => join(folder, entry.name))
    .sort();
  let given: DicomInstance | undefined;
  if (!isFolder) {
    const read = await readDicomInstance(path);
    if (!('seriesUid' in read)) {
      const reason = `a DICOM file, but not a VL Whole Slide Microscopy image (SOP class ${read.sopClass})`;
      throw unsupportedFormat(path, reason, { sopClass: read.sopClass });
    }
    given = read;
  }
  const siblings = await mapLimited(
    names.filter((name) => isFolder || basename(name) !== basename(path)),
    headerConcurrency,
    async (name) => ((await hasDicomMagic(name)) ? readDicomInstance(name) : undefined),
  );
  const instances = siblings.filter((found): found is DicomInstance => found !== undefined && 'seriesUid' in found);
  if (given) instances.push(given);

  const bySeries = new Map<string, DicomInstance[]>();
  for (const instance of instances) {
    const members = bySeries.get(instance.seriesUid) ?? [];
    members.push(instance);
    bySeries.set(instance.seriesUid, members);
  }
  const chosen = given?.seriesUid ?? onlySeries(path, names.length, siblings.filter(Boolean).length, bySeries);
  return classify(path, chosen, bySeries.get(chosen) ?? []);
}

function onlySeries(path: string, files: number, dicoms: number, bySeries: Map<string, DicomInstance[]>): string {
  const slides = [...bySeries].filter(([, members]) => members.some((instance) => instance.flavor === 'VOLUME'));
  if (slides.length === 1) return slides[0]![0];
  if (slides.length > 1) {
    const listed = slides
      .map(([uid, members]) => `${uid} (${members.map((instance) => basename(instance.path)).join(', ')})`)
      .join('; ');
    throw slideUnreadable(
      path,
      `folder holds ${slides.length} DICOM whole-slide series, not one: ${listed}; give one instance file of the series to read`,
      { series: slides.map(([uid]) => uid) },
    );
  }
  if (dicoms === 0) throw slideUnreadable(path, `folder holds no DICOM files (${files} files looked at)`);
  if (bySeries.size === 0)
    throw unsupportedFormat(path, `folder holds ${dicoms} DICOM files but no VL Whole Slide Microscopy image`);
  throw slideUnreadable(
    path,
    'folder holds DICOM whole-slide instances but none with ImageType VOLUME (no pyramid level)',
  );
}

function classify(path: string, seriesUid: string, members: DicomInstance[]): DicomSeries {
  const levels: DicomInstance[] = [];
  const associated = new Map<string, DicomInstance>();
  for (const instance of members) {
    const name = associatedNames[instance.flavor];
    if (instance.flavor !== 'VOLUME' && name === undefined) continue;
    if (instance.concatenationUid !== undefined)
      throw unsupportedFormat(
        instance.path,
        `instance is part of concatenation ${instance.concatenationUid}, which is not supported`,
      );
    const previous =
      name === undefined
        ? levels.find((level) => level.width === instance.width && level.height === instance.height)
        : associated.get(name);
    if (previous) {
      // A copied file is harmless; two different images in one place are a slide we do not understand.
      if (previous.sopInstanceUid === instance.sopInstanceUid) continue;
      throw slideUnreadable(
        path,
        `${basename(previous.path)} and ${basename(instance.path)} are different instances of the same ${name ?? `${instance.width}×${instance.height} level`}`,
      );
    }
    if (name === undefined) levels.push(instance);
    else associated.set(name, instance);
  }
  if (levels.length === 0)
    throw slideUnreadable(path, `DICOM series ${seriesUid} has no instance with ImageType VOLUME (no pyramid level)`);
  levels.sort((a, b) => b.width - a.width);
  return { seriesUid, levels, associated: [...associated].map(([name, instance]) => ({ name, instance })) };
}

async function hasDicomMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const head = Buffer.alloc(132);
    const { bytesRead } = await handle.read(head, 0, 132, 0);
    return bytesRead === 132 && head.toString('latin1', 128, 132) === 'DICM';
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}

async function mapLimited<T, R>(items: T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}
