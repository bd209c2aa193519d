/**
 * Live resource graphs of one VM (uPlot): host CPU, guest MIPS, resident
 * memory against the budget, console I/O. Charts are made once per VM; every
 * stats sample (~4 Hz, coordinator.onStats) only swaps their data arrays.
 * Each chart's caption states the newest values in words, for screen readers
 * and for anyone who prefers numbers.
 */
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Coordinator } from '../../vmm/coordinator.ts';
import { GRAPHS, graphColumns, latestValues, WINDOW_SECONDS, type GraphColumns, type GraphSpec } from '../graphs.ts';

export interface ResourceGraphsProps {
  coordinator: Coordinator;
  vmId: string;
  name: string;
  budgetMiB: number;
}

const HEIGHT = 78;
const MIN_WINDOW_SECONDS = 10;
const AXIS = { stroke: '#8994a3', grid: { stroke: 'rgba(255,255,255,0.06)', width: 1 }, ticks: { show: false }, font: '10px system-ui, sans-serif' };

function chartOptions(spec: GraphSpec, width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { show: false },
    select: { show: false, left: 0, top: 0, width: 0, height: 0 },
    padding: [6, 14, 0, 0],
    scales: {
      // The window grows with the history, from MIN_WINDOW_SECONDS up to WINDOW_SECONDS.
      x: { time: false, range: (_u, min) => [Math.max(-WINDOW_SECONDS, Math.min(-MIN_WINDOW_SECONDS, Number.isFinite(min) ? min : 0)), 0] },
      y: { range: (_u, _min, max) => [0, Math.max(spec.minTop, Number.isFinite(max) ? max * 1.1 : spec.minTop)] },
    },
    axes: [
      { ...AXIS, size: 18, values: (_u, splits) => splits.map((s) => (s === 0 ? 'now' : `${s}s`)) },
      { ...AXIS, size: 44, values: (_u, splits) => splits.map((s) => compact(spec, s)) },
    ],
    series: [
      {},
      ...spec.series.map((series) => ({
        label: series.label,
        stroke: series.color,
        width: 1.5,
        ...(series.dash && { dash: [...series.dash] }),
        ...(series === spec.series[0] && { fill: `${series.color}22` }),
        points: { show: false },
      })),
    ],
  };
}

/** Short axis labels: "50%", "2M", "1.5k". */
function compact(spec: GraphSpec, value: number): string {
  if (spec.key === 'cpu') return `${value}%`;
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return `${+value.toFixed(2)}`;
}

export function ResourceGraphs({ coordinator, vmId, name, budgetMiB }: ResourceGraphsProps) {
  const plotRefs = useRef<Array<HTMLDivElement | null>>([]);
  const budgetRef = useRef(budgetMiB);
  budgetRef.current = budgetMiB;
  const [latest, setLatest] = useState<GraphColumns | undefined>(undefined);

  useEffect(() => {
    if (!coordinator.list().some((vm) => vm.id === vmId)) return undefined;
    const charts: uPlot[] = [];
    const observers: ResizeObserver[] = [];
    GRAPHS.forEach((spec, i) => {
      const target = plotRefs.current[i]!;
      const width = Math.max(120, target.clientWidth);
      const empty = [new Float64Array(0), ...spec.series.map(() => new Float64Array(0))];
      const chart = new uPlot(chartOptions(spec, width), empty, target);
      charts.push(chart);
      const observer = new ResizeObserver(() => {
        const next = Math.max(120, target.clientWidth);
        if (next !== chart.width) chart.setSize({ width: next, height: HEIGHT });
      });
      observer.observe(target);
      observers.push(observer);
    });

    const update = (): void => {
      const columns = graphColumns(coordinator.stats(vmId), budgetRef.current);
      GRAPHS.forEach((spec, i) => {
        charts[i]!.setData(columns[spec.key]);
        plotRefs.current[i]!.dataset.samples = String(columns[spec.key][0]!.length);
      });
      setLatest(columns);
    };
    update();
    const subscription = coordinator.onStats((event) => {
      if (event.id === vmId) update();
    });
    return () => {
      subscription.dispose();
      for (const observer of observers) observer.disconnect();
      for (const chart of charts) chart.destroy();
    };
  }, [coordinator, vmId]);

  return (
    <div className="graphs">
      {GRAPHS.map((spec, i) => {
        const values = latest ? latestValues(latest[spec.key]) : [];
        return (
          <figure className="graph" key={spec.key} aria-label={`${spec.title} of ${name}`} data-graph={spec.key}>
            <figcaption>
              <span className="graph-title">{spec.title}</span>
              {spec.series.map((series, j) => (
                <span className="graph-value" key={series.label}>
                  <span className="swatch" style={{ background: series.color }} aria-hidden="true" />
                  {spec.series.length > 1 ? `${series.label} ` : ''}
                  {values[j] === undefined || Number.isNaN(values[j]) ? '–' : spec.format(values[j])}
                </span>
              ))}
            </figcaption>
            <div
              className="graph-plot"
              aria-hidden="true"
              ref={(element) => {
                plotRefs.current[i] = element;
              }}
            />
          </figure>
        );
      })}
    </div>
  );
}
