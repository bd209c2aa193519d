/**
 * The New VM dialog: a modal <dialog> (focus stays inside; Escape cancels)
 * with the name, RAM, CPU weight, CPU cap, memory budget and image fields
 * and the JIT checkbox (on unless the page runs with `?jit=0`).
 * Create validates (new-vm-form.ts), shows each problem next to its field
 * and focuses the first one; a valid form closes the dialog and creates and
 * starts the VM, whose console then takes the focus.
 */
import { useId, useLayoutEffect, useRef, useState, type FormEvent } from 'react';
import { findImage, IMAGES, DEFAULT_IMAGE_ID } from '../images.ts';
import { defaultFormValues, validateNewVmForm, type NewVmField, type NewVmFormValues, type NewVmRequest } from '../new-vm-form.ts';

export interface NewVmDialogProps {
  open: boolean;
  /** Names and ids in use. */
  taken: () => ReadonlySet<string>;
  onCreate: (request: NewVmRequest) => void;
  /** Cancel, Escape, or the dialog closed by other means. */
  onCancel: () => void;
  /** The checkbox's initial state (the page's JIT default). */
  jitDefault: boolean;
}

const FIELD_ORDER: readonly NewVmField[] = ['name', 'ramMiB', 'cpuWeight', 'cpuCapPercent', 'memoryBudgetMiB', 'imageId'];

export function NewVmDialog({ open, taken, onCreate, onCancel, jitDefault }: NewVmDialogProps) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const fieldRefs = useRef<Partial<Record<NewVmField, HTMLInputElement | HTMLSelectElement | null>>>({});
  const [values, setValues] = useState<NewVmFormValues>(() => defaultFormValues(DEFAULT_IMAGE_ID));
  const [errors, setErrors] = useState<Partial<Record<NewVmField, string>>>({});
  const [jit, setJit] = useState(jitDefault);
  const id = useId();

  // A layout effect: the dialog is closed (and the browser has put the focus
  // back) before whatever the caller does next, e.g. focus a new console.
  useLayoutEffect(() => {
    const dialog = dialogRef.current!;
    if (open && !dialog.open) {
      setValues(defaultFormValues(DEFAULT_IMAGE_ID));
      setErrors({});
      setJit(jitDefault);
      dialog.showModal();
      fieldRefs.current.name?.focus();
    } else if (!open && dialog.open) {
      dialog.close();
    }
  }, [open, jitDefault]);

  const set = (field: NewVmField) => (event: { target: { value: string } }) => {
    setValues((previous) => ({ ...previous, [field]: event.target.value }));
  };

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    const result = validateNewVmForm(values, { taken: taken(), images: IMAGES });
    if (!result.ok) {
      setErrors(result.errors);
      const first = FIELD_ORDER.find((field) => result.errors[field] !== undefined);
      if (first) fieldRefs.current[first]?.focus();
      return;
    }
    setErrors({});
    onCreate({ ...result.request, jit });
  };

  const field = (name: NewVmField, label: string, extra: { hint?: string; placeholder?: string; inputMode?: 'numeric' | 'decimal' } = {}) => {
    const inputId = `${id}-${name}`;
    const error = errors[name];
    const describedBy = [error && `${inputId}-error`, extra.hint && `${inputId}-hint`].filter(Boolean).join(' ') || undefined;
    return (
      <div className={`field${error ? ' field-invalid' : ''}`}>
        <label htmlFor={inputId}>{label}</label>
        <input
          id={inputId}
          name={name}
          value={values[name]}
          onChange={set(name)}
          inputMode={extra.inputMode}
          placeholder={extra.placeholder}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          autoComplete="off"
          ref={(element) => {
            fieldRefs.current[name] = element;
          }}
        />
        {extra.hint && (
          <p className="hint" id={`${inputId}-hint`}>
            {extra.hint}
          </p>
        )}
        {error && (
          <p className="field-error" id={`${inputId}-error`}>
            {error}
          </p>
        )}
      </div>
    );
  };

  const image = findImage(values.imageId);
  const imageError = errors.imageId;
  return (
    <dialog
      ref={dialogRef}
      className="dialog"
      aria-labelledby={`${id}-title`}
      onClose={() => {
        if (open) onCancel();
      }}
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <form onSubmit={submit} noValidate>
        <h2 id={`${id}-title`}>New VM</h2>
        {field('name', 'Name', { placeholder: 'automatic (vm-N)', hint: 'Scripts can address the VM by this name.' })}
        <div className="field-row">
          {field('ramMiB', 'RAM (MiB)', { inputMode: 'numeric' })}
          {field('memoryBudgetMiB', 'Memory budget (MiB)', { inputMode: 'numeric', placeholder: 'same as RAM' })}
        </div>
        <div className="field-row">
          {field('cpuWeight', 'CPU weight', { inputMode: 'decimal' })}
          {field('cpuCapPercent', 'CPU cap (%)', { inputMode: 'decimal' })}
        </div>
        <div className={`field${imageError ? ' field-invalid' : ''}`}>
          <label htmlFor={`${id}-imageId`}>Image</label>
          <select
            id={`${id}-imageId`}
            value={values.imageId}
            onChange={set('imageId')}
            aria-invalid={imageError ? true : undefined}
            aria-describedby={`${id}-imageId-hint${imageError ? ` ${id}-imageId-error` : ''}`}
            ref={(element) => {
              fieldRefs.current.imageId = element;
            }}
          >
            {IMAGES.map((entry) => (
              <option key={entry.id} value={entry.id}>
                {entry.label}
              </option>
            ))}
          </select>
          <p className="hint" id={`${id}-imageId-hint`}>
            {image?.description}
          </p>
          {imageError && (
            <p className="field-error" id={`${id}-imageId-error`}>
              {imageError}
            </p>
          )}
        </div>
        <div className="field field-check">
          <label>
            <input type="checkbox" name="jit" checked={jit} onChange={(event) => setJit(event.target.checked)} aria-describedby={`${id}-jit-hint`} />
            JIT
          </label>
          <p className="hint" id={`${id}-jit-hint`}>
            Compiles hot guest code to WebAssembly once the VM has booted: integer work runs 3 to 30 times faster, x87 floating point a little faster. Off: interpreted only.
          </p>
        </div>
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="button button-primary">
            Create
          </button>
        </div>
      </form>
    </dialog>
  );
}
