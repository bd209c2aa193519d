/*
 * tvb-x87: floating-point kernel for the tabvisor benchmark suite (compiled
 * for i686 without SSE, so all of it runs on the x87 FPU).
 *   nbody       the Sun and the four giant planets, 40,000 leapfrog steps
 *               of 0.01 days; prints the system's energy before and after
 *   mandelbrot  escape counts over a 160x120 grid, 256 iterations at most
 * The printed digits are a checksum of the arithmetic: an FPU that rounds
 * differently from the host's x87 shows up here.
 */
#include <math.h>
#include <stdio.h>

#define STEPS 40000
#define BODIES 5
#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24

struct body {
  double x, y, z, vx, vy, vz, mass;
};

/* Positions in AU, velocities in AU/day (scaled to AU/year below), masses in solar masses. */
static struct body bodies[BODIES] = {
  {0, 0, 0, 0, 0, 0, 1},
  {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
   1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05, 9.54791938424326609e-04},
  {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
   -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05, 2.85885980666130812e-04},
  {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
   2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05, 4.36624404335156298e-05},
  {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
   2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05, 5.15138902046611451e-05},
};

static double energy(void) {
  double e = 0;
  for (int i = 0; i < BODIES; i++) {
    const struct body *a = &bodies[i];
    e += 0.5 * a->mass * (a->vx * a->vx + a->vy * a->vy + a->vz * a->vz);
    for (int j = i + 1; j < BODIES; j++) {
      const struct body *b = &bodies[j];
      double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
      e -= a->mass * b->mass / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

static void step(double dt) {
  for (int i = 0; i < BODIES; i++) {
    struct body *a = &bodies[i];
    for (int j = i + 1; j < BODIES; j++) {
      struct body *b = &bodies[j];
      double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
      double d2 = dx * dx + dy * dy + dz * dz;
      double mag = dt / (d2 * sqrt(d2));
      a->vx -= dx * b->mass * mag;
      a->vy -= dy * b->mass * mag;
      a->vz -= dz * b->mass * mag;
      b->vx += dx * a->mass * mag;
      b->vy += dy * a->mass * mag;
      b->vz += dz * a->mass * mag;
    }
  }
  for (int i = 0; i < BODIES; i++) {
    bodies[i].x += dt * bodies[i].vx;
    bodies[i].y += dt * bodies[i].vy;
    bodies[i].z += dt * bodies[i].vz;
  }
}

static void start_at_rest(void) {
  double px = 0, py = 0, pz = 0;
  for (int i = 0; i < BODIES; i++) {
    bodies[i].vx *= DAYS_PER_YEAR;
    bodies[i].vy *= DAYS_PER_YEAR;
    bodies[i].vz *= DAYS_PER_YEAR;
    bodies[i].mass *= SOLAR_MASS;
    px += bodies[i].vx * bodies[i].mass;
    py += bodies[i].vy * bodies[i].mass;
    pz += bodies[i].vz * bodies[i].mass;
  }
  bodies[0].vx = -px / SOLAR_MASS; /* the Sun balances the planets' momentum */
  bodies[0].vy = -py / SOLAR_MASS;
  bodies[0].vz = -pz / SOLAR_MASS;
}

static unsigned long mandelbrot(void) {
  unsigned long total = 0;
  for (int py = 0; py < 120; py++) {
    for (int px = 0; px < 160; px++) {
      double cr = -2.2 + 3.2 * px / 160, ci = -1.2 + 2.4 * py / 120;
      double zr = 0, zi = 0;
      int n = 0;
      while (n < 256 && zr * zr + zi * zi <= 4) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        n++;
      }
      total = total * 33 + (unsigned long)n;
    }
  }
  return total;
}

int main(void) {
  start_at_rest();
  double before = energy();
  for (int s = 0; s < STEPS; s++) step(0.01);
  double after = energy();
  unsigned long m = mandelbrot();
  printf("tvb-x87 energy=%.12f,%.12f mandelbrot=%08lx\n", before, after, m);
  return 0;
}
