/**
 * The New VM dialog's fields as typed text, their validation with
 * plain-language messages, and the config they turn into. Limits come from
 * the coordinator (CONFIG_LIMITS), so the form never accepts what
 * `createVm` would refuse.
 */
import { CONFIG_LIMITS } from '../vmm/vm-registry.ts';
import type { CatalogueImage } from './images.ts';

export interface NewVmFormValues {
  name: string;
  ramMiB: string;
  cpuWeight: string;
  cpuCapPercent: string;
  /** Empty = same as RAM. */
  memoryBudgetMiB: string;
  imageId: string;
}

export type NewVmField = keyof NewVmFormValues;

export interface NewVmRequest {
  /** Undefined: the coordinator names it after its id (vm-N). */
  name: string | undefined;
  ramMiB: number;
  cpuWeight: number;
  cpuCapPercent: number;
  memoryBudgetMiB: number;
  imageId: string;
  /** Compile hot guest code to WebAssembly (the dialog's checkbox, on by default). */
  jit?: boolean;
}

export type NewVmValidation =
  | { readonly ok: true; readonly request: NewVmRequest }
  | { readonly ok: false; readonly errors: Partial<Record<NewVmField, string>> };

export const NAME_MAX_LENGTH = 40;
const NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u;

export function defaultFormValues(imageId: string): NewVmFormValues {
  return { name: '', ramMiB: '64', cpuWeight: '1', cpuCapPercent: '100', memoryBudgetMiB: '', imageId };
}

export interface ValidationContext {
  /** Names and ids of the VMs that exist: a new name must not clash with either. */
  taken: ReadonlySet<string>;
  images: readonly CatalogueImage[];
}

export function validateNewVmForm(values: NewVmFormValues, context: ValidationContext): NewVmValidation {
  const errors: Partial<Record<NewVmField, string>> = {};

  const name = values.name.trim();
  if (name.length > NAME_MAX_LENGTH) {
    errors.name = `The name is too long: at most ${NAME_MAX_LENGTH} characters.`;
  } else if (name !== '' && !NAME_PATTERN.test(name)) {
    errors.name = 'The name may use letters, digits, spaces, dots, dashes and underscores, and must start with a letter or digit.';
  } else if (name !== '' && context.taken.has(name)) {
    errors.name = `There is already a VM called “${name}”. Choose another name.`;
  }

  const ram = parseNumber(values.ramMiB);
  const { ramMiB: ramLimits, cpuWeight: weightLimits, cpuCapPercent: capLimits, memoryBudgetMiB: budgetLimits } = CONFIG_LIMITS;
  if (ram === undefined || !Number.isInteger(ram) || ram < ramLimits.min || ram > ramLimits.max) {
    errors.ramMiB = `RAM must be a whole number of MiB from ${ramLimits.min} to ${ramLimits.max}.`;
  }

  const weight = parseNumber(values.cpuWeight);
  if (weight === undefined || weight < weightLimits.min || weight > weightLimits.max) {
    errors.cpuWeight = `CPU weight must be a number from ${weightLimits.min} to ${weightLimits.max}; VMs share the CPU in proportion to it.`;
  }

  const cap = parseNumber(values.cpuCapPercent);
  if (cap === undefined || cap < capLimits.min || cap > capLimits.max) {
    errors.cpuCapPercent = `CPU cap must be from ${capLimits.min} to ${capLimits.max} (percent of one host core).`;
  }

  let budget: number | undefined;
  if (values.memoryBudgetMiB.trim() === '') {
    budget = ram;
  } else {
    budget = parseNumber(values.memoryBudgetMiB);
    if (budget === undefined || budget < budgetLimits.min || budget > budgetLimits.max) {
      errors.memoryBudgetMiB = `Memory budget must be from ${budgetLimits.min} to ${budgetLimits.max} MiB, or empty for the same as RAM.`;
    }
  }

  if (!context.images.some((image) => image.id === values.imageId)) {
    errors.imageId = 'Choose an image from the list.';
  }

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    request: {
      name: name === '' ? undefined : name,
      ramMiB: ram!,
      cpuWeight: weight!,
      cpuCapPercent: cap!,
      memoryBudgetMiB: budget!,
      imageId: values.imageId,
    },
  };
}

/** A decimal number typed by a person ("64", " 1.5 "), or undefined for anything else. */
export function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^[+]?(\d+(\.\d*)?|\.\d+)$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}
