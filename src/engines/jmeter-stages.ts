/**
 * Stages on JMeter without plugins: the plan's thread group is copied once per load layer, each copy
 * with its own thread count, start-up delay, ramp-up and duration (the standard Thread Group's
 * scheduler, available in JMeter 2.13 and 5.x alike).
 *
 * The stages become layers with `stagesToThreadGroups`: a stage that raises the level adds a group
 * of the difference, which starts at the stage's beginning and ramps over the stage; a stage that
 * lowers the level ends the newest groups first (splitting one when only part of it must go). A
 * linear ramp-down is approximated by ending groups at up to four evenly spaced moments within
 * the stage, each at the middle of its share of the ramp; JMeter stops a group's threads at once
 * (each finishes its current sample). All times are whole seconds, as JMeter takes them.
 *
 * `rewritePlanForStages` applies the groups to a plan's text: it needs exactly one enabled standard
 * `ThreadGroup` (setUp/tearDown groups and disabled groups are left as they are), replaces it and its
 * subtree with one copy per group, sets in each copy `ThreadGroup.num_threads`, `ramp_time`,
 * `scheduler`, `duration` and `delay`, and makes its loop controller loop forever, so that the
 * scheduler decides when threads end. Plans with several enabled thread groups, or with plugin
 * thread groups only, are refused with a message saying so.
 */
import type { Stage } from '../model/index.js'

/** One copy of the plan's thread group. Seconds, whole numbers. */
export interface JmeterThreadGroupSpec {
  threads: number
  /** Start-up delay from the start of the test. */
  delayS: number
  rampS: number
  /** Lifetime from the group's start (its ramp included). */
  durationS: number
}

/** Most groups a ramp-down stage is split into. */
const MAX_DOWN_CHUNKS = 4
/** Most thread groups one plan may get. */
export const MAX_THREAD_GROUPS = 128

interface Layer {
  threads: number
  start: number
  ramp: number
}

/**
 * The thread groups that follow `stages` (each stage moves linearly from the previous target to its
 * own, starting from 0). Throws when they would need more than MAX_THREAD_GROUPS groups.
 */
export function stagesToThreadGroups(stages: readonly Stage[]): JmeterThreadGroupSpec[] {
  const out: { threads: number; start: number; ramp: number; end: number }[] = []
  const stack: Layer[] = []
  let t = 0
  let level = 0
  const release = (count: number, end: number) => {
    let need = count
    while (need > 0 && stack.length) {
      const top = stack[stack.length - 1]
      const take = Math.min(top.threads, need)
      out.push({ threads: take, start: top.start, ramp: top.ramp, end })
      top.threads -= take
      need -= take
      if (top.threads === 0) stack.pop()
    }
  }
  for (const st of stages) {
    const target = Math.max(0, Math.round(st.target))
    const d = st.durationS
    if (target > level) {
      stack.push({ threads: target - level, start: t, ramp: d })
    } else if (target < level) {
      const drop = level - target
      const chunks = Math.max(1, Math.min(drop, MAX_DOWN_CHUNKS, Math.round(d)))
      let done = 0
      for (let c = 1; c <= chunks; c++) {
        const upTo = Math.round((drop * c) / chunks)
        release(upTo - done, t + (d * (c - 0.5)) / chunks)
        done = upTo
      }
    }
    level = target
    t += d
  }
  for (let i = stack.length - 1; i >= 0; i--) out.push({ ...stack[i], end: t })
  const groups = out
    .map(g => {
      const delayS = Math.round(g.start)
      return {
        threads: g.threads,
        delayS,
        rampS: Math.round(g.ramp),
        durationS: Math.max(1, Math.round(g.end) - delayS)
      }
    })
    .filter(g => g.threads > 0)
    .sort((a, b) => a.delayS - b.delayS || b.durationS - a.durationS)
  if (groups.length > MAX_THREAD_GROUPS)
    throw new Error(
      `engine jmeter: the stages need ${groups.length} thread groups, more than ${MAX_THREAD_GROUPS}; use fewer stages`
    )
  return groups
}

/** Start and end offsets of an element `<tag …>…</tag>` starting at `from` (its `<`). */
function elementEnd(xml: string, from: number, tag: string): number {
  const open = xml.indexOf('>', from)
  if (open < 0) return -1
  if (xml[open - 1] === '/') return open + 1
  const close = xml.indexOf(`</${tag}>`, open)
  return close < 0 ? -1 : close + tag.length + 3
}

/** End offset of the `<hashTree>` (or `<hashTree/>`) that starts at `from`, nested trees included. */
function hashTreeEnd(xml: string, from: number): number {
  const re = /<hashTree\s*\/>|<hashTree\s*>|<\/hashTree\s*>/g
  re.lastIndex = from
  let depth = 0
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const end = m.index + m[0].length
    if (m[0].startsWith('</')) {
      depth--
      if (depth === 0) return end
    } else if (m[0].endsWith('/>')) {
      if (depth === 0) return end
    } else {
      depth++
    }
  }
  return -1
}

/** A property element `<stringProp|intProp|longProp|boolProp name="…">…</…>` (or self-closing). */
const PROP = (name: string) =>
  new RegExp(
    `<(stringProp|intProp|longProp|boolProp)\\s+name="${name.replace(/\./g, '\\.')}"\\s*(?:/>|>[^<]*</\\1>)`
  )

/**
 * Sets a property in an element's text: the existing one keeps its type and gets the value; a
 * missing one is added (as `kind`) before `</tag>`.
 */
function setProp(element: string, tag: string, name: string, value: string, kind = 'stringProp'): string {
  const m = PROP(name).exec(element)
  if (m)
    return (
      element.slice(0, m.index) +
      `<${m[1]} name="${name}">${value}</${m[1]}>` +
      element.slice(m.index + m[0].length)
    )
  const close = element.lastIndexOf(`</${tag}>`)
  return (
    element.slice(0, close) + `  <${kind} name="${name}">${value}</${kind}>\n      ` + element.slice(close)
  )
}

function isEnabled(openTag: string): boolean {
  return !/\benabled="false"/.test(openTag)
}

/**
 * The plan text with its single enabled thread group replaced by one copy per group spec. Throws an
 * Error naming the problem when the plan has no standard thread group or several enabled ones.
 */
export function rewritePlanForStages(xml: string, groups: readonly JmeterThreadGroupSpec[]): string {
  if (!groups.length) throw new Error('engine jmeter: the stages hold no threads')
  const found: { start: number; end: number; treeEnd: number }[] = []
  const re = /<ThreadGroup[\s>]/g
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const openEnd = xml.indexOf('>', m.index)
    if (!isEnabled(xml.slice(m.index, openEnd + 1))) continue
    const end = elementEnd(xml, m.index, 'ThreadGroup')
    if (end < 0) throw new Error('engine jmeter: the test plan has an unterminated <ThreadGroup> element')
    const treeStart = xml.slice(end).search(/\S/)
    const at = end + treeStart
    if (treeStart < 0 || !xml.startsWith('<hashTree', at))
      throw new Error('engine jmeter: the test plan has a <ThreadGroup> without its <hashTree>')
    const treeEnd = hashTreeEnd(xml, at)
    if (treeEnd < 0) throw new Error('engine jmeter: the test plan has an unterminated <hashTree>')
    found.push({ start: m.index, end, treeEnd })
  }
  if (found.length === 0)
    throw new Error(
      'engine jmeter: stages need a standard Thread Group in the plan (plugin thread groups are not rewritten); none is enabled'
    )
  if (found.length > 1)
    throw new Error(
      `engine jmeter: stages need a plan with exactly one enabled Thread Group, found ${found.length}`
    )
  const g = found[0]
  const element = xml.slice(g.start, g.end)
  const tree = xml.slice(g.end, g.treeEnd)
  const copies = groups.map((spec, i) => {
    let el = element.replace(
      /\btestname="([^"]*)"/,
      (_m, name: string) => `testname="${name} [perf-gate ${i + 1}/${groups.length}]"`
    )
    el = setProp(el, 'ThreadGroup', 'ThreadGroup.num_threads', String(spec.threads))
    el = setProp(el, 'ThreadGroup', 'ThreadGroup.ramp_time', String(spec.rampS))
    el = setProp(el, 'ThreadGroup', 'ThreadGroup.scheduler', 'true', 'boolProp')
    el = setProp(el, 'ThreadGroup', 'ThreadGroup.duration', String(spec.durationS))
    el = setProp(el, 'ThreadGroup', 'ThreadGroup.delay', String(spec.delayS))
    // Loop forever: the scheduler ends the threads. The loop count lives in the main controller.
    const loops = PROP('LoopController.loops').exec(el)
    if (loops)
      el =
        el.slice(0, loops.index) +
        `<${loops[1]} name="LoopController.loops">-1</${loops[1]}>` +
        el.slice(loops.index + loops[0].length)
    return el + tree
  })
  return xml.slice(0, g.start) + copies.join('\n      ') + xml.slice(g.treeEnd)
}
