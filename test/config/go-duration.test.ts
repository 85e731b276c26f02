// Go's time.ParseDuration, which nats-server applies to duration strings.
// Every row below is the output of go 1.19's time.ParseDuration for the input.
import t from 'tap'
import { parseGoDuration } from '../../src/config/go-duration.js'

const GO_1_19: [string, string | null, string | null][] = [
  ['0', '0', null],
  ['-0', '0', null],
  ['+0', '0', null],
  ['5s', '5000000000', null],
  ['1m30s', '90000000000', null],
  ['1.5h', '5400000000000', null],
  ['300us', '300000', null],
  ['300\u00b5s', '300000', null],
  ['300\u03bcs', '300000', null],
  ['-1.5h', '-5400000000000', null],
  ['+5s', '5000000000', null],
  ['.5s', '500000000', null],
  ['5.s', '5000000000', null],
  ['1h2m3s4ms5us6ns', '3723004005006', null],
  ['0.000000001s', '1', null],
  ['1.0000000001s', '1000000000', null],
  ['0.1ns', '0', null],
  ['10.333333333333333333333ms', '10333333', null],
  ['2562047h47m16.854775807s', '9223372036854775807', null],
  ['9223372036854775807ns', '9223372036854775807', null],
  ['-9223372036854775808ns', '-9223372036854775808', null],
  ['9223372036854775808ns', null, 'time: invalid duration "9223372036854775808ns"'],
  ['2562048h', null, 'time: invalid duration "2562048h"'],
  ['', null, 'time: invalid duration ""'],
  ['abc', null, 'time: invalid duration "abc"'],
  ['-', null, 'time: invalid duration "-"'],
  ['.s', null, 'time: invalid duration ".s"'],
  ['5', null, 'time: missing unit in duration "5"'],
  ['1.5.5s', null, 'time: missing unit in duration "1.5.5s"'],
  ['1x', null, 'time: unknown unit "x" in duration "1x"'],
  ['5 s', null, 'time: unknown unit " s" in duration "5 s"'],
  ['5S', null, 'time: unknown unit "S" in duration "5S"'],
  ['3d', null, 'time: unknown unit "d" in duration "3d"'],
  ['1\u00b5x', null, 'time: unknown unit "\\xc2\\xb5x" in duration "1\\xc2\\xb5x"'],
]

t.test('durations parse to the nanoseconds and errors go 1.19 gives', async (t) => {
  for (const [input, ns, error] of GO_1_19) {
    const parsed = parseGoDuration(input)
    t.same({ ns: parsed.ns === null ? null : String(parsed.ns), error: parsed.error }, { ns, error }, JSON.stringify(input))
  }
})
