/** A uPlot line chart of per-minute counts (check-ins and failures on the fleet page). */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  color: string;
  values: number[];
}

export function TimeChart(props: { title: string; start: number; stepSeconds: number; series: Series[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const { start, stepSeconds, series } = props;
  const times = series[0]!.values.map((_, i) => start / 1000 + i * stepSeconds);
  const data: uPlot.AlignedData = [times, ...series.map((s) => s.values)];
  const labels = series.map((s) => s.label).join(",");
  useEffect(() => {
    const el = box.current!;
    const options: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: 220,
      series: [
        {},
        ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, fill: `${s.color}22` })),
      ],
      axes: [{}, { label: "per minute", size: 60 }],
      scales: { x: { time: true } },
      legend: { live: false },
    };
    plot.current = new uPlot(options, data, el);
    const resize = () => plot.current?.setSize({ width: Math.max(300, el.clientWidth), height: 220 });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.current?.destroy();
    };
  }, [labels]);
  useEffect(() => {
    plot.current?.setData(data);
  });
  const total = series.map((s) => `${s.label}: ${s.values.reduce((a, b) => a + b, 0)}`).join(", ");
  return (
    <figure class="chart">
      <div ref={box} role="img" aria-label={`${props.title}; last hour: ${total}`} />
      <figcaption>
        {props.title} (last hour: {total})
      </figcaption>
    </figure>
  );
}
