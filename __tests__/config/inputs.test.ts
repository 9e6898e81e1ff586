/** The action inputs added for profiles and stress mode: parsed once, errors naming the input. */
import { InputError, readInputs } from '../../src/config/inputs.js'

const read = (inputs: Record<string, string>) => readInputs(name => inputs[name] ?? '')

it('profile, multiplier, profile-params, target-rps and instances', () => {
  const i = read({
    mode: 'stress',
    profile: 'spike',
    multiplier: '4',
    'profile-params': 'surge: 20s\n# a comment\nrecovery=1m\n',
    'target-rps': '1400.5',
    instances: '3'
  })
  expect(i.mode).toBe('stress')
  expect(i.profile).toEqual({ name: 'spike', params: ['surge: 20s', 'recovery=1m'], multiplier: '4' })
  expect(i.targetRps).toBe(1400.5)
  expect(i.instances).toBe(3)
  const none = read({})
  expect(none.profile).toEqual({ name: '', params: [], multiplier: '' })
  expect(none.targetRps).toBeNull()
  expect(none.instances).toBeNull()
})

it.each([
  [{ 'target-rps': 'lots' }, `input 'target-rps': expected a number above 0, got "lots"`],
  [{ 'target-rps': '0' }, `input 'target-rps': expected a number above 0, got "0"`],
  [{ instances: '0' }, `input 'instances': must be between 1 and 100000, got 0`],
  [{ mode: 'soak' }, `input 'mode': expected one of gate, baseline, stress, got "soak"`]
])('%j', (inputs, message) => {
  expect(() => read(inputs)).toThrow(InputError)
  expect(() => read(inputs)).toThrow(message)
})
