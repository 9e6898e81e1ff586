/** The part of jStat (a CommonJS package without type declarations) that the gate uses. */
declare module 'jstat' {
  interface JStatStudentT {
    /** Cumulative distribution function of Student's t with `dof` degrees of freedom. */
    cdf(x: number, dof: number): number
    /** Quantile function (inverse CDF) of Student's t with `dof` degrees of freedom. */
    inv(p: number, dof: number): number
  }
  interface JStatNormal {
    cdf(x: number, mean: number, std: number): number
    inv(p: number, mean: number, std: number): number
  }
  interface JStatStatic {
    studentt: JStatStudentT
    normal: JStatNormal
  }
  const jStat: JStatStatic
  export default jStat
}
